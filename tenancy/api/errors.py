"""One error shape for the whole API, 500 included.

{"error": {"code": "invalid", "message": "…",
           "fields": [{"path": "events[3].name", "message": "…"}]}}

A database that cannot be reached is a retryable 503 (`Retry-After`), any other
unexpected exception a logged 500 `server_error`: never an HTML page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5  # what a 503 tells clients to wait before retrying


class Conflict(exceptions.APIException):
    """409: the request is valid but the object's current state forbids it."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The object is in use."


def unavailable_response(message: str) -> Response:
    """503 with Retry-After: nothing was done, and the same request may be sent again."""
    response = error_response("unavailable", message, status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def unexpected_error_response(exc: Exception, context: dict) -> Response:
    """The envelope for what no handler expected: 503 when the database is unreachable,
    else 500. Either way the transaction is rolled back and the exception logged."""
    set_rollback()
    view = context.get("view")
    request = context.get("request")
    where = f"{type(view).__name__} {getattr(request, 'method', '')} {getattr(request, 'path', '')}"
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable in %s: %s", where, exc)
        return unavailable_response("The database is unavailable; retry shortly.")
    if isinstance(exc, DatabaseError):
        logger.error("database error in %s", where, exc_info=exc)
    else:
        logger.error("unexpected error in %s", where, exc_info=exc)
    return error_response(
        "server_error", "An unexpected error occurred.", status.HTTP_500_INTERNAL_SERVER_ERROR
    )


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into a list of {path, message, code}."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            if key == "non_field_errors":
                child = path
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            out.extend(flatten_errors(value, child))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [
                {"path": path, "message": str(item), "code": getattr(item, "code", "invalid")}
                for item in detail
            ]
        out = []
        for index, item in enumerate(detail):
            if item in ({}, [], None):
                continue
            if isinstance(item, str):
                out.append(
                    {"path": path, "message": str(item), "code": getattr(item, "code", "invalid")}
                )
            else:
                out.extend(flatten_errors(item, f"{path}[{index}]"))
        return out
    return [{"path": path, "message": str(detail), "code": getattr(detail, "code", "invalid")}]


def in_use_message(exc: ProtectedError | RestrictedError) -> str:
    users = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
    names = sorted(f"{type(obj)._meta.verbose_name} '{obj}'" for obj in users)
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"The object is in use by {shown}: remove those first."


def error_response(
    code: str, message: str, http_status: int, fields: list | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, ProtectedError | RestrictedError):
        # A delete refused because a higher layer's object still points here (e.g. an
        # experiment's arm at a variant): a conflict to resolve, not a server error.
        set_rollback()
        return error_response("conflict", in_use_message(exc), status.HTTP_409_CONFLICT)
    if response is None:
        return unexpected_error_response(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        first = fields[0] if fields else {"path": "", "message": "Invalid input."}
        message = f"{first['path']}: {first['message']}" if first["path"] else first["message"]
        response.data = {"error": {"code": "invalid", "message": message, "fields": fields}}
        return response
    detail = getattr(exc, "detail", None)
    code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
    body: dict[str, Any] = {"code": str(code), "message": str(detail or exc)}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after_seconds"] = int(exc.wait)
    response.data = {"error": body}
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = "Api-Key"
    return response


# --- Django's own error pages, under /api/: the envelope too --------------------------------


def _is_api(request: Any) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: Any, exception: Exception) -> Any:
    """handler404: the JSON envelope under /api/ (no route matched), Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found as html_page_not_found

    if _is_api(request):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "No such endpoint or object."}},
            status=404,
        )
    return html_page_not_found(request, exception)


def server_error(request: Any) -> Any:
    """handler500: the JSON envelope under /api/ (an error outside the API views, e.g. in a
    middleware), Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import server_error as html_server_error

    if _is_api(request):
        return JsonResponse(
            {"error": {"code": "server_error", "message": "An unexpected error occurred."}},
            status=500,
        )
    return html_server_error(request)


# --- OpenAPI: every operation documents the error envelope ---------------------------------

ERROR_SCHEMA_NAME = "ErrorEnvelope"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "message"],
                        "properties": {
                            "path": {"type": "string"},
                            "message": {"type": "string"},
                            "code": {"type": "string"},
                        },
                    },
                },
                "retry_after_seconds": {"type": "integer"},
            },
        }
    },
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `fields` lists every problem with its path.",
    "401": "Missing, malformed, unknown or revoked API key.",
    "403": "Not signed in, or not allowed (role, key kind, browser origin).",
    "404": "Not found, or on a site you may not read.",
    "409": "The object is in use (e.g. a segment that variants still target).",
    "413": "The request body is over the endpoint's limit.",
    "429": "Too many requests for this key; see `retry_after_seconds`.",
    "503": "A dependency (the database) is unavailable; retry after `Retry-After` seconds.",
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
BODY_METHODS = frozenset({"post", "put", "patch"})


def document_error_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: add the error envelope's responses to every
    operation that does not document them itself."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, description in ERROR_DESCRIPTIONS.items():
                if code == "409" and method not in WRITE_METHODS:
                    continue
                if code == "413" and method not in BODY_METHODS:
                    continue
                response = operation["responses"].setdefault(code, {"description": description})
                response.setdefault("content", {"application/json": {"schema": ref}})
            if "503" in operation["responses"]:
                operation["responses"]["503"].setdefault(
                    "headers",
                    {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
                )
    return result
