"""API-key authentication for the delivery hot path: it owns a per-process memo of
resolved keys on top of `tenancy.api.authentication.ApiKeyAuthentication` (same rules,
same errors), so a busy worker does not hash the key and read the cache on every request.
A revoked key therefore stops working within KEY_MEMO_SECONDS in every process
(revocation deletes the shared cache entry at once).

Failing open: when the key cannot be resolved because the cache and the database are both
unavailable, a memo entry up to STALE_MEMO_SECONDS old is used, so a process keeps serving
the keys it has recently seen.
"""

from __future__ import annotations

import logging
import time

from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from rest_framework.request import Request

from tenancy.api.authentication import ApiKeyAuthentication, key_check_not_retired
from tenancy.selectors import ResolvedKey

KEY_MEMO_SECONDS = 2.0
STALE_MEMO_SECONDS = 300.0
logger = logging.getLogger(__name__)
_memo: dict[str, tuple[float, tuple[AnonymousUser, ResolvedKey]]] = {}
_MEMO_MAX = 10_000


class DeliveryKeyAuthentication(ApiKeyAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, ResolvedKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        hit = _memo.get(header) if header else None
        if hit is not None and hit[0] > time.monotonic():
            key_check_not_retired(hit[1][1])
            return hit[1]
        try:
            result = super().authenticate(request)  # raises on a bad key: never memoised
        except DatabaseError:
            if hit is None or hit[0] + STALE_MEMO_SECONDS < time.monotonic():
                raise
            logger.warning("API key lookup failed; using this process's memo", exc_info=True)
            key_check_not_retired(hit[1][1])
            return hit[1]
        if result is not None:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[header] = (time.monotonic() + KEY_MEMO_SECONDS, result)
        return result


def forget_keys() -> None:
    _memo.clear()
