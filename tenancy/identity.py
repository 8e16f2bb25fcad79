"""Identity verification: proof from a site's server that a browser's `user_id` is really
that person. The server computes `user_hash` = hex HMAC-SHA256(site identity secret,
user_id) when it renders the page (as Intercom and others do); a public key's request
names a stored person only with a matching hash. Server keys are trusted.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.core.cache import cache

from tenancy.models import Site

IDENTITY_CACHE_SECONDS = 60


@dataclass(frozen=True)
class SiteIdentity:
    secret: str
    required: bool


def user_hash_compute(*, secret: str, user_id: str) -> str:
    # surrogatepass: a malformed id (validation refuses it first) hashes instead of raising.
    message = user_id.encode("utf-8", "surrogatepass")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def identity_cache_key(site_id: int) -> str:
    return f"site:{site_id}:identity"


def site_identity_get(*, site_id: int) -> SiteIdentity | None:
    """The site's secret and setting, cached briefly (known visitors only: they run SQL anyway)."""
    key = identity_cache_key(site_id)
    cached = cache.get(key)
    if cached is None:
        row = (
            Site.objects.filter(pk=site_id)
            .values_list("identity_secret", "require_identity_verification")
            .first()
        )
        if row is None:
            return None
        cached = {"secret": row[0], "required": row[1]}
        cache.set(key, cached, IDENTITY_CACHE_SECONDS)
    return SiteIdentity(**cached)


def identity_forget(*, site_id: int) -> None:
    """Call after changing a site's secret or setting (every process reads the shared cache)."""
    cache.delete(identity_cache_key(site_id))


def user_id_verified(*, site_id: int, user_id: str, user_hash: str | None) -> bool:
    """May a public key's `user_id` name a stored person? Only with a valid `user_hash`,
    unless the site turned verification off. (Server keys are trusted: callers skip this.)"""
    identity = site_identity_get(site_id=site_id)
    if identity is None:
        return False
    if not identity.required:
        return True
    if not user_hash or not identity.secret:
        return False
    expected = user_hash_compute(secret=identity.secret, user_id=user_id)
    given = user_hash.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode(), given)
