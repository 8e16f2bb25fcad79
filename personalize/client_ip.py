"""The client's address, for login throttling (django-axes) behind trusted proxies."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """With TRUSTED_PROXY_COUNT proxies in front (each appends the address it saw to
    X-Forwarded-For), the client is that many entries from the right; a client cannot
    forge it by sending its own header, which stays to the left."""
    count = settings.PERSONALIZE_TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")
