from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from tenancy.failopen import FailOpenCache
from tenancy.selectors import ResolvedKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per-key rate limit (`API_KEY_THROTTLE_RATE`), counted in the shared cache (per process
    while it is unavailable)."""

    scope = "api_key"
    cache = FailOpenCache()

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if isinstance(request.auth, ResolvedKey):
            return f"throttle:key:{request.auth.key_id}"
        return None


class ManagementRateThrottle(UserRateThrottle):
    """Per-user rate of the management API (`MANAGEMENT_API_THROTTLE_RATE`): a stolen session
    or a runaway script cannot flood the database. A 429 in the error envelope says when to
    retry."""

    scope = "management"
