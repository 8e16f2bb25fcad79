"""Writes for the tenancy core: sites, API keys and roles."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from tenancy.failopen import cache_add_or_local, cache_set_quietly, publish_quietly
from tenancy.identity import identity_forget
from tenancy.models import (
    ApiKey,
    ApiKeyKind,
    SchedulerHeartbeat,
    Site,
    SiteRole,
    identity_secret_generate,
)
from tenancy.roles import ROLE_PERMISSIONS, Role
from tenancy.selectors import api_key_cache_key, api_key_digest

CONFIG_VERSION_CACHE_KEY = "site:{site_id}:config_version"
# Bounded, so that a version the cache missed (written while it was down, or stalled) is
# read from the database again within this many seconds once the cache is back.
CONFIG_VERSION_TTL = 60
KEY_TOUCH_INTERVAL_SECONDS = 60


def site_create(
    *,
    name: str,
    slug: str,
    timezone_name: str = "UTC",
    default_language: str = "en",
    languages: list[str] | None = None,
    allowed_origins: list[str] | None = None,
) -> Site:
    site = Site(
        name=name,
        slug=slug,
        timezone=timezone_name,
        default_language=default_language,
        languages=languages or [],
        allowed_origins=allowed_origins or [],
    )
    site.full_clean()
    with transaction.atomic():
        site.save()
        _site_created_hooks(site)
    return site


def _site_created_hooks(site: Site) -> None:
    """Lets later layers seed per-site data (e.g. the built-in field catalog)."""
    from tenancy.signals import site_created

    site_created.send(sender=Site, site=site)


def site_identity_secret_rotate(*, site: Site) -> str:
    """A new identity secret for the site; user hashes made with the old one stop verifying
    at once (those visitors are anonymous until their pages are rendered again)."""
    site.identity_secret = identity_secret_generate()
    site.save(update_fields=["identity_secret"])
    site_settings_changed(site=site)
    return site.identity_secret


def site_settings_changed(*, site: Site) -> None:
    """After an edit of a site's settings: delivery re-reads the identity setting (now, and
    again at commit in case a request re-cached the old row meanwhile)."""
    identity_forget(site_id=site.pk)
    transaction.on_commit(lambda: identity_forget(site_id=site.pk))


def site_config_bump(*, site_id: int) -> int:
    """Mark the site's published configuration as changed; delivery reloads on a new version."""
    Site.objects.filter(pk=site_id).update(config_version=F("config_version") + 1)
    version = Site.objects.values_list("config_version", flat=True).get(pk=site_id)
    transaction.on_commit(
        lambda: cache_set_quietly(
            CONFIG_VERSION_CACHE_KEY.format(site_id=site_id), version, CONFIG_VERSION_TTL
        )
    )
    return version


def api_key_create(
    *, site: Site, kind: str, name: str, created_by: AbstractBaseUser | None = None
) -> tuple[ApiKey, str]:
    """Create a key. Returns the row and the raw key, which is never retrievable again."""
    raw = ApiKey.generate(kind)
    key = ApiKey.objects.create(
        site=site,
        kind=ApiKeyKind(kind),
        name=name,
        prefix=raw[:10],
        digest=api_key_digest(raw),
        created_by=created_by if created_by and created_by.is_authenticated else None,
    )
    return key, raw


class KeyNotRotatable(ValueError):
    pass


def api_key_rotate(
    *,
    key: ApiKey,
    window: timedelta | None = None,
    created_by: AbstractBaseUser | None = None,
) -> tuple[ApiKey, str]:
    """Rotation without downtime: a successor of the same site and kind works at once; the
    old key keeps working until the end of `window` (API_KEY_ROTATION_WINDOW_HOURS by
    default), then is refused as revoked. Returns the successor and its raw key (shown once).
    """
    if window is None:
        window = timedelta(hours=settings.PERSONALIZE_KEY_ROTATION_WINDOW_HOURS)
    if window < timedelta(0):
        raise KeyNotRotatable("The rotation window cannot be negative.")
    now = timezone.now()
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if not key.is_active:
            raise KeyNotRotatable("Only an active key can be rotated.")
        successor, raw = api_key_create(
            site=key.site, kind=key.kind, name=key.name, created_by=created_by
        )
        ends = now + window
        key.expires_at = min(key.expires_at, ends) if key.expires_at else ends
        key.rotated_to = successor
        key.save(update_fields=["expires_at", "rotated_to"])
    cache.delete(api_key_cache_key(key.digest))  # every process sees the end date now
    return successor, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    cache.delete(api_key_cache_key(key.digest))
    return key


def api_key_touch(*, key_id: int) -> None:
    """Record use, at most once a minute per key (per process while the cache is down), off
    the request path (Celery). Never fails the request: a stamp that cannot be queued is
    dropped with a log line."""
    if cache_add_or_local(f"apikey:touched:{key_id}", 1, KEY_TOUCH_INTERVAL_SECONDS):
        from tenancy.tasks import api_key_mark_used

        publish_quietly(api_key_mark_used, key_id, timezone.now().isoformat())


def role_grant(
    *, site: Site, user: AbstractBaseUser, role: str, granted_by: AbstractBaseUser | None = None
) -> SiteRole:
    role = Role(role)
    with transaction.atomic():
        site_role, _ = SiteRole.objects.get_or_create(
            site=site, user=user, role=role, defaults={"granted_by": granted_by}
        )
        for perm in ROLE_PERMISSIONS[role]:
            assign_perm(perm.qualified, user, site)
    return site_role


def role_revoke(*, site_role: SiteRole) -> None:
    site, user = site_role.site, site_role.user
    with transaction.atomic():
        site_role.delete()
        _sync_guardian_perms(site=site, user=user)


def role_sync(*, site_role: SiteRole, previous: SiteRole | None = None) -> None:
    """After an admin edit of a SiteRole row, make guardian match the rows again."""
    _sync_guardian_perms(site=site_role.site, user=site_role.user)
    if previous and (previous.site_id, previous.user_id) != (site_role.site_id, site_role.user_id):
        _sync_guardian_perms(site=previous.site, user=previous.user)


def _sync_guardian_perms(*, site: Site, user: AbstractBaseUser) -> None:
    wanted = set()
    for role in SiteRole.objects.filter(site=site, user=user).values_list("role", flat=True):
        wanted |= ROLE_PERMISSIONS[Role(role)]
    for perms in ROLE_PERMISSIONS.values():
        for perm in perms - wanted:
            remove_perm(perm.qualified, user, site)
    for perm in wanted:
        assign_perm(perm.qualified, user, site)


def scheduler_heartbeat_record(
    *, name: str, ran: dict[str, datetime], error: str = ""
) -> SchedulerHeartbeat:
    """A scheduler ran these tasks (task name → when): keep its last run per task."""
    with transaction.atomic():
        beat = SchedulerHeartbeat.objects.select_for_update().filter(name=name).first()
        if beat is None:
            beat = SchedulerHeartbeat(name=name, last_runs={})
        runs = dict(beat.last_runs or {})
        runs.update({task: when.isoformat() for task, when in ran.items()})
        beat.last_runs = runs
        beat.last_run_at = max(ran.values(), default=timezone.now())
        beat.last_error = error
        beat.save()
    return beat
