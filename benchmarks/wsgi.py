"""The benchmark's WSGI entry point: the project's application, plus `/bench/wsgi`, a bare
WSGI callable answering a small JSON body without Django (the floor under every HTTP
figure: gunicorn, the socket and the load generator)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from personalize.wsgi import application as django_application

BODY = b'{"visitor_id":"anon","placements":{},"screens":{}}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/bench/wsgi":
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", HEADERS)
        return [BODY]
    return django_application(environ, start_response)
