"""Per-site CORS for the browser-facing delivery endpoints (decide, events), on top of
django-cors-headers: it owns which origins may call them and the cache of each site's
allowed origins. A preflight carries no key, so it passes when any site lists the origin;
the actual request carries one, so CORS headers are added only when the key's site lists
the origin and the views answer 403 `origin_not_allowed` otherwise (`OriginAllowed`):
another site's page can never use this site's key from a browser. The API's own origin
(demo page, admin previews) is always allowed. Origins are cached in the shared cache
(dropped when a Site is saved) and per process for ORIGIN_TTL seconds: no SQL on the hot
path. While the shared cache is unavailable they are read from the database; while that
is unavailable too, the process keeps its last copy.
"""

from __future__ import annotations

import logging
import re
import time

from corsheaders.signals import check_request_enabled
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from tenancy.api.authentication import ApiKeyFailed, key_from_header
from tenancy.failopen import cache_delete_quietly, cache_get_or_none, cache_set_quietly
from tenancy.models import Site
from tenancy.selectors import ResolvedKey, api_key_resolve

DELIVERY_PATHS = re.compile(r"^/api/v1/(decide|events)/?$")
ORIGIN_TTL = 10.0  # seconds a process trusts its copy
SHARED_TTL = 300  # seconds the shared cache keeps a copy (deleted on Site save)
ALL_KEY = "cors:origins:all"
logger = logging.getLogger(__name__)
SITE_KEY = "cors:origins:site:{site_id}"

_local: dict[str, tuple[float, frozenset[str]]] = {}


def _cached(key: str, load) -> frozenset[str]:
    now = time.monotonic()
    hit = _local.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = cache_get_or_none(key)
    if value is None:
        try:
            value = sorted(load())
        except Exception:
            if hit is None:
                raise
            _local[key] = (now + ORIGIN_TTL, hit[1])  # the database is down: keep the copy
            return hit[1]
        cache_set_quietly(key, value, SHARED_TTL)
    origins = frozenset(value)
    _local[key] = (now + ORIGIN_TTL, origins)
    return origins


def site_origins(site_id: int) -> frozenset[str]:
    def load() -> set[str]:
        row = Site.objects.filter(pk=site_id).values_list("allowed_origins", flat=True).first()
        return {o.rstrip("/") for o in (row or []) if isinstance(o, str)}

    return _cached(SITE_KEY.format(site_id=site_id), load)


def all_origins() -> frozenset[str]:
    def load() -> set[str]:
        out: set[str] = set()
        for origins in Site.objects.values_list("allowed_origins", flat=True):
            out.update(o.rstrip("/") for o in (origins or []) if isinstance(o, str))
        return out

    return _cached(ALL_KEY, load)


def is_same_origin(request: HttpRequest, origin: str) -> bool:
    try:
        return origin == f"{request.scheme}://{request.get_host()}"
    except Exception:  # DisallowedHost and the like: not same-origin
        return False


def origin_allowed(site_id: int, origin: str, request: HttpRequest) -> bool:
    return origin.rstrip("/") in site_origins(site_id) or is_same_origin(request, origin)


def forget_origins(site_id: int | None = None) -> None:
    keys = [ALL_KEY] + ([SITE_KEY.format(site_id=site_id)] if site_id is not None else [])
    cache_delete_quietly(*keys)
    for key in keys:
        _local.pop(key, None)
    if site_id is None:
        _local.clear()


@receiver(check_request_enabled, dispatch_uid="delivery.cors.site_origins")
def cors_allow_request(sender: object, request: HttpRequest, **kwargs: object) -> bool:
    if not DELIVERY_PATHS.match(request.path_info):
        return False
    origin = request.headers.get("origin")
    if not origin:
        return False
    if request.method == "OPTIONS":
        return origin.rstrip("/") in all_origins()
    try:
        resolved = api_key_resolve(key_from_header(request.headers.get("authorization", "")))
    except ApiKeyFailed:
        resolved = None
    except Exception:  # cache and database down: the view answers (503 or from its memo)
        logger.warning("CORS: could not resolve the API key", exc_info=True)
        resolved = None
    if resolved is not None and not resolved.revoked:
        return origin_allowed(resolved.site_id, origin, request)
    # No usable key: let the page read the 401 when some site lists the origin.
    return origin.rstrip("/") in all_origins()


@receiver(post_save, sender=Site, dispatch_uid="delivery.cors.site_saved")
@receiver(post_delete, sender=Site, dispatch_uid="delivery.cors.site_deleted")
def _site_changed(sender: object, instance: Site, **kwargs: object) -> None:
    forget_origins(instance.pk)


class OriginAllowed(BasePermission):
    """403 when a browser Origin is not one of the key's site's allowed origins."""

    def has_permission(self, request, view: object) -> bool:  # type: ignore[override]
        origin = request.META.get("HTTP_ORIGIN")
        if not origin or not isinstance(request.auth, ResolvedKey):
            return True
        if origin_allowed(request.auth.site_id, origin, request):
            return True
        raise PermissionDenied(
            detail=f"The origin {origin} is not allowed for this site; "
            "add it to the site's allowed origins.",
            code="origin_not_allowed",
        )
