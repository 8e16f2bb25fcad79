"""One error shape for the whole API.

{"error": {"code": "invalid", "message": "…",
           "fields": [{"path": "events[3].name", "message": "…"}]}}
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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


def error_response(
    code: str, message: str, http_status: int, fields: list | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
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
