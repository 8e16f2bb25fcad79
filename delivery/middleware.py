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

import json
import re
import threading
from collections.abc import Callable
from urllib.parse import quote

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


class PersonalizeCookiesMiddleware:
    """For server-rendered pages without the JS client: keeps the visitor id the template
    tag made up (`pz_vid`) and the experiment assignments its decide answered (`pz_asg`)
    in cookies, so the next page decides for the same visitor with the same arms. Adds
    nothing when the tag did not run, the cookies already hold the same values, or the
    visitor withheld consent (`pz_consent=0`)."""

    max_age = 365 * 24 * 3600

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.COOKIES.get("pz_consent") == "0":
            return response
        visitor_cookie = getattr(settings, "PERSONALIZE_VISITOR_COOKIE", "pz_vid")
        made_up = request.__dict__.get("_personalize_vid")
        if made_up and request.COOKIES.get(visitor_cookie) != made_up:
            self._set(response, visitor_cookie, made_up)
        assignments = request.__dict__.get("personalize_assignments")
        if assignments:
            cookie = getattr(settings, "PERSONALIZE_ASSIGNMENTS_COOKIE", "pz_asg")
            # As the JS client writes it (encodeURIComponent of compact JSON).
            value = quote(json.dumps(assignments, separators=(",", ":"), sort_keys=True))
            if request.COOKIES.get(cookie) != value and len(value) <= 4000:
                self._set(response, cookie, value)
        return response

    def _set(self, response: HttpResponseBase, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            max_age=self.max_age,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=False,  # the JS client, when on the page, reads and writes them too
        )
