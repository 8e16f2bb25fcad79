"""Delivery's link between the database and the pure engine: it owns building a site's
`engine.Snapshot` from what the site has published (compiled segment rules, live slots)
and the per-process cache of snapshots. A request reuses its process's snapshot while it
was checked less than CHECK_INTERVAL seconds ago; after that, one cache read
(`site:<id>:config_version`, written by `site_config_bump` on every publish) tells whether
the site changed, and only then is the snapshot rebuilt. So a publish reaches every worker
within CHECK_INTERVAL plus the rebuild, and a warm decide never runs SQL.

Failing open: while Redis is unavailable the version is read from the database (one query
per site and process per CHECK_INTERVAL); while the database is unavailable too, or when a
rebuild fails (a publish whose configuration does not load), the process keeps serving the
snapshot it has and tries again after CHECK_INTERVAL. Only a process with no snapshot at
all for the site has nothing to answer from.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.utils import timezone

from content.selectors.configuration import published_site_load
from delivery.engine import Snapshot
from segments.models import Segment, SegmentStatus
from segments.selectors.definitions import site_segment_rules
from tenancy.failopen import cache_add_quietly, cache_get_or_none
from tenancy.models import Site
from tenancy.services import CONFIG_VERSION_CACHE_KEY

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0  # seconds between version checks, per site per process
# A version read from the database (cache miss) is cached this long, so that even a
# per-process cache (no Redis) lets other workers see a publish within this bound.
DB_VERSION_TTL = 30


class SiteGone(Exception):
    """The key's site no longer exists."""


@dataclass
class _Entry:
    snapshot: Snapshot
    checked_at: float


_entries: dict[int, _Entry] = {}
_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _site_lock(site_id: int) -> threading.Lock:
    lock = _locks.get(site_id)
    if lock is None:
        with _locks_guard:
            lock = _locks.setdefault(site_id, threading.Lock())
    return lock


def site_config_version(site_id: int) -> int:
    """The site's current configuration version: from the shared cache, else the database."""
    key = CONFIG_VERSION_CACHE_KEY.format(site_id=site_id)
    version = cache_get_or_none(key)
    if version is not None:
        return int(version)
    row = Site.objects.filter(pk=site_id).values_list("config_version", flat=True).first()
    if row is None:
        raise SiteGone(site_id)
    cache_add_quietly(key, row, DB_VERSION_TTL)
    return int(row)


def snapshot_build(site_id: int) -> Snapshot:
    """Compile the site's published configuration (a handful of queries)."""
    site = Site.objects.filter(pk=site_id).values("timezone").first()
    if site is None:
        raise SiteGone(site_id)
    published = published_site_load(site_id=site_id)
    active = list(
        Segment.objects.filter(site_id=site_id, status=SegmentStatus.ACTIVE).values_list(
            "key", flat=True
        )
    )
    # A segment that does not compile is reported in `broken`, never raised.
    rules, broken = site_segment_rules(site=site_id, keys={*active, *published.segment_keys})
    return Snapshot(
        site_id=site_id,
        version=published.version,
        published=published,
        rules=rules,
        active_segments=tuple(sorted(set(active) - set(broken))),
        timezone=site["timezone"] or "UTC",
        broken_segments=broken,
        built_at=timezone.now(),
    )


def snapshot_get(site_id: int) -> Snapshot:
    """The site's current snapshot for this process (see the module docstring)."""
    entry = _entries.get(site_id)
    now = time.monotonic()
    if entry is not None and now - entry.checked_at < CHECK_INTERVAL:
        return entry.snapshot
    try:
        version = site_config_version(site_id)
        if entry is not None and entry.snapshot.version >= version:
            entry.checked_at = now
            return entry.snapshot
        with _site_lock(site_id):
            entry = _entries.get(site_id)
            if entry is not None and entry.snapshot.version >= version:
                entry.checked_at = time.monotonic()
                return entry.snapshot
            snapshot = snapshot_build(site_id)
            _entries[site_id] = _Entry(snapshot=snapshot, checked_at=time.monotonic())
            return snapshot
    except SiteGone:
        raise
    except Exception:
        if entry is None:
            raise
        # Keep answering from what this process has; try again after CHECK_INTERVAL.
        logger.warning(
            "site %s: could not check or rebuild the snapshot; serving version %s",
            site_id,
            entry.snapshot.version,
            exc_info=True,
        )
        entry.checked_at = time.monotonic()
        return entry.snapshot


def snapshot_forget(site_id: int | None = None) -> None:
    """Drop this process's snapshot(s): tests, or after deleting a site."""
    if site_id is None:
        _entries.clear()
    else:
        _entries.pop(site_id, None)


def snapshot_install(snapshot: Snapshot) -> None:
    """Use a prebuilt snapshot in this process (benchmarks and engine tests)."""
    _entries[snapshot.site_id] = _Entry(snapshot=snapshot, checked_at=time.monotonic())
