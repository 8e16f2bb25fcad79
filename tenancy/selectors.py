"""Reads for the tenancy core: which sites a user may touch, and API key resolution."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from tenancy.failopen import cache_get_or_none, cache_set_quietly
from tenancy.models import ApiKey, Site
from tenancy.roles import Perm

User = AbstractBaseUser | AnonymousUser

API_KEY_CACHE_SECONDS = 60
_MISSING = "missing"


def sites_for_user(user: User, perm: Perm = Perm.VIEW) -> QuerySet[Site]:
    """Sites on which `user` holds `perm` (superusers: all)."""
    if not user.is_authenticated or not user.is_active:
        return Site.objects.none()
    if user.is_superuser:
        return Site.objects.all()
    return get_objects_for_user(user, perm.qualified, klass=Site, accept_global_perms=False)


def site_ids_for_user(user: User, perm: Perm = Perm.VIEW) -> list[int]:
    return list(sites_for_user(user, perm).values_list("pk", flat=True))


def user_has_site_perm(user: User, perm: Perm, site: Site | int | None) -> bool:
    if site is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not isinstance(site, Site):
        site = Site.objects.filter(pk=site).first()
        if site is None:
            return False
    return user.has_perm(perm.qualified, site)


def user_has_any_site_role(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.site_roles.exists())


@dataclass(frozen=True)
class ResolvedKey:
    key_id: int
    site_id: int
    site_slug: str
    kind: str
    revoked: bool
    expires_at: float | None = None  # POSIX time a rotated key stops working

    def retired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def api_key_digest(raw_key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast digest is safe and keeps auth cheap.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_cache_key(digest: str) -> str:
    return f"apikey:{digest}"


def api_key_resolve(raw_key: str) -> ResolvedKey | None:
    """The key's site and kind, from the cache when possible (no SQL on the hot path); from
    the database while the cache is unavailable."""
    digest = api_key_digest(raw_key)
    cached = cache_get_or_none(api_key_cache_key(digest))
    if cached == _MISSING:
        return None
    if cached is not None:
        return ResolvedKey(**cached)
    row = (
        ApiKey.objects.filter(digest=digest)
        .values("pk", "site_id", "site__slug", "kind", "revoked_at", "expires_at")
        .first()
    )
    if row is None:
        cache_set_quietly(api_key_cache_key(digest), _MISSING, API_KEY_CACHE_SECONDS)
        return None
    resolved = ResolvedKey(
        key_id=row["pk"],
        site_id=row["site_id"],
        site_slug=row["site__slug"],
        kind=row["kind"],
        revoked=row["revoked_at"] is not None,
        expires_at=row["expires_at"].timestamp() if row["expires_at"] else None,
    )
    cache_set_quietly(api_key_cache_key(digest), resolved.__dict__, API_KEY_CACHE_SECONDS)
    return resolved
