"""`Authorization: Api-Key <key>` authentication. The key resolves to its site."""

from __future__ import annotations

import re

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenancy.models import ApiKeyKind
from tenancy.selectors import ResolvedKey, api_key_resolve
from tenancy.services import api_key_touch

KEYWORD = "Api-Key"
KEY_PATTERN = re.compile(r"^(pk|sk)_[A-Za-z0-9_-]{20,64}$")


class ApiKeyFailed(exceptions.AuthenticationFailed):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)


def key_from_header(header: str) -> str:
    """The key of an `Authorization: Api-Key <key>` header; ApiKeyFailed when malformed."""
    keyword, _, raw = header.partition(" ")
    raw = raw.strip()
    if keyword != KEYWORD or not raw:
        raise ApiKeyFailed(
            "api_key_malformed", f"The Authorization header must be '{KEYWORD} <key>'."
        )
    if not KEY_PATTERN.match(raw):
        raise ApiKeyFailed("api_key_malformed", "The API key is malformed.")
    return raw


def key_check_not_retired(resolved: ResolvedKey) -> None:
    """A rotated key works until the end of its rotation window, then is revoked."""
    if resolved.retired(timezone.now().timestamp()):
        raise ApiKeyFailed(
            "api_key_revoked",
            "The API key was rotated and its rotation window has ended; use its successor.",
        )


class ApiKeyAuthentication(BaseAuthentication):
    """Sets `request.auth` to a ResolvedKey. A bad key is a 401 that says what is wrong."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ResolvedKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        resolved = api_key_resolve(key_from_header(header))
        if resolved is None:
            raise ApiKeyFailed("api_key_invalid", "The API key is not valid.")
        if resolved.revoked:
            raise ApiKeyFailed("api_key_revoked", "The API key has been revoked.")
        key_check_not_retired(resolved)
        api_key_touch(key_id=resolved.key_id)
        return AnonymousUser(), resolved

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class _RequiresKey(BasePermission):
    kinds: tuple[str, ...] = ()

    def has_permission(self, request: Request, view: object) -> bool:
        key = request.auth
        if not isinstance(key, ResolvedKey):
            raise exceptions.NotAuthenticated(
                detail=f"An API key is required: send 'Authorization: {KEYWORD} <key>'.",
                code="api_key_missing",
            )
        if key.kind not in self.kinds:
            wanted = " or ".join(ApiKeyKind(k).label.split(" (")[0].lower() for k in self.kinds)
            raise exceptions.PermissionDenied(
                detail=f"This endpoint needs a {wanted}; this is a {key.kind} key.",
                code="api_key_wrong_kind",
            )
        return True


class DeliveryKeyRequired(_RequiresKey):
    """Delivery endpoints (and `whoami`): the public key, or the secret key from a server."""

    kinds = (ApiKeyKind.DELIVERY, ApiKeyKind.SERVER)


class ServerKeyRequired(_RequiresKey):
    kinds = (ApiKeyKind.SERVER,)
