"""Request bodies sent with `Transfer-Encoding: chunked` (no Content-Length).

Django reads CONTENT_LENGTH bytes of a body, so a chunked one would be read as empty and
answered as if nothing had been sent. This WSGI middleware reads it whole when the server
has de-chunked it and marks the end of the stream (`wsgi.input_terminated`, as gunicorn
does), up to DATA_UPLOAD_MAX_MEMORY_SIZE, and gives Django a body with a length; a server
that cannot do that gets 411 Length Required, and a body over the limit 413.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

DEFAULT_LIMIT = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE default


def _error(start_response: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class ChunkedBodyMiddleware:
    def __init__(self, app: WSGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            if not environ.get("wsgi.input_terminated"):
                return _error(
                    start_response,
                    "411 Length Required",
                    "length_required",
                    "Send a Content-Length header; this server cannot read chunked bodies.",
                )
            limit = self.limit or _setting_limit()
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return _error(
                    start_response,
                    "413 Request Entity Too Large",
                    "payload_too_large",
                    f"The request body is larger than {limit // 1024} KB.",
                )
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _setting_limit() -> int:
    from django.conf import settings

    return getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or DEFAULT_LIMIT
