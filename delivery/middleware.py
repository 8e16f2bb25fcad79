"""Delivery's HTTP fast path: it owns routing the key-authenticated delivery endpoints
(`/api/v1/decide`, `/api/v1/events`, `/api/v1/profiles/…`) through a lean middleware
stack (`settings.API_MIDDLEWARE`: security headers and CORS) instead of the whole
`MIDDLEWARE`, whose session, CSRF, auth, messages and clickjacking layers serve the admin
and browser pages and cost a delivery request about 30 µs for nothing.

Two entries in `MIDDLEWARE` do it: `ApiFastPathEnd`, last, captures the handler's core
(URL resolution, view middleware, the view); `ApiFastPathMiddleware`, first, wraps that
core in `API_MIDDLEWARE` once and sends matching paths there. View middleware
(`process_view`) still runs for every request, as Django runs it inside the core.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

API_PATHS = re.compile(r"/api/v1/(?:decide|events)/?$|/api/v1/profiles/")

Handler = Callable[[HttpRequest], HttpResponseBase]
_loading = threading.local()  # the core captured by ApiFastPathEnd for the handler being built


class ApiFastPathEnd:
    """Last in MIDDLEWARE: hands the core to ApiFastPathMiddleware, then passes through."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        # Django builds the chain innermost first, in one thread: the first entry reads this.
        _loading.core = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)


class ApiFastPathMiddleware:
    """First in MIDDLEWARE: delivery API paths go through API_MIDDLEWARE only."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        core = getattr(_loading, "core", None)
        _loading.core = None
        if core is None:
            raise ImproperlyConfigured(
                "delivery.middleware.ApiFastPathMiddleware needs "
                "delivery.middleware.ApiFastPathEnd last in MIDDLEWARE."
            )
        lean: Handler = core
        for path in reversed(getattr(settings, "API_MIDDLEWARE", [])):
            lean = convert_exception_to_response(import_string(path)(lean))
        self.lean = lean

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if API_PATHS.match(request.path_info):
            return self.lean(request)
        return self.get_response(request)
