"""API-key authentication for the delivery hot path: it owns a per-process memo of
resolved keys on top of `tenancy.api.authentication.ApiKeyAuthentication` (same rules,
same errors), so a busy worker does not hash the key and read the cache on every request.
A revoked key therefore stops working within KEY_MEMO_SECONDS in every process
(revocation deletes the shared cache entry at once).
"""

from __future__ import annotations

import time

from django.contrib.auth.models import AnonymousUser
from rest_framework.request import Request

from tenancy.api.authentication import ApiKeyAuthentication, key_check_not_retired
from tenancy.selectors import ResolvedKey

KEY_MEMO_SECONDS = 2.0
_memo: dict[str, tuple[float, tuple[AnonymousUser, ResolvedKey]]] = {}
_MEMO_MAX = 10_000


class DeliveryKeyAuthentication(ApiKeyAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, ResolvedKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            hit = _memo.get(header)
            if hit is not None and hit[0] > time.monotonic():
                key_check_not_retired(hit[1][1])
                return hit[1]
        result = super().authenticate(request)  # raises on a bad key: never memoised
        if result is not None:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[header] = (time.monotonic() + KEY_MEMO_SECONDS, result)
        return result


def forget_keys() -> None:
    _memo.clear()
