"""Delivery's link between the database and the pure engine: it owns building a site's
`engine.Snapshot` from what the site has published (compiled segment rules, live slots)
and the per-process cache of snapshots. A request reuses its process's snapshot while it
was checked less than CHECK_INTERVAL seconds ago; after that, one cache read
(`site:<id>:config_version`, written by `site_config_bump` on every publish) tells whether
the site changed, and only then is the snapshot rebuilt. So a publish reaches every worker
within CHECK_INTERVAL plus the rebuild, and a warm decide never runs SQL.

The per-process cache is bounded: at most `PERSONALIZE_SNAPSHOT_CACHE_SITES` sites and
about `PERSONALIZE_SNAPSHOT_CACHE_MB` of snapshots (`snapshot_size`, an estimate from the
rule and response sizes); the least recently used site is dropped first and rebuilt on
its next decide (a cold build: docs/delivery-performance.md gives its cost by size).

Failing open: while Redis is unavailable the version is read from the database (one query
per site and process per CHECK_INTERVAL); while the database is unavailable too, or when a
rebuild fails (a publish whose configuration does not load), the process keeps serving the
snapshot it has and tries again after CHECK_INTERVAL. Only a process with no snapshot at
all for the site has nothing to answer from.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from content.selectors.configuration import published_site_load
from delivery.engine import Snapshot
from experiments.assignment import CompiledExperiment, CompiledHoldout, compile_arms
from experiments.models import (
    Experiment,
    ExperimentPhase,
    ExperimentStatus,
    GlobalHoldout,
    Optimization,
    OptimizationArm,
    OptimizationStatus,
)
from experiments.policy.slot import CompiledOptimization, compile_optimization
from segments.criteria import Labels
from segments.models import Segment, SegmentStatus
from segments.selectors.catalog import site_field_catalog
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


# Approximate resident bytes of a snapshot, measured with tracemalloc by `make bench`
# (benchmarks/scale.py): per compiled rule (generated code, closures, parsed tree) and per
# byte of pre-serialised response (the fragments, the published payloads they come from
# and the slot tables, about three times the JSON).
RULE_BYTES = 7_000
RESPONSE_BYTES_FACTOR = 3


def snapshot_size(snapshot: Snapshot) -> int:
    """An estimate of the memory a snapshot holds (what the cache's bound counts)."""
    fragments = sum(len(f) for f in snapshot.fragments.values())
    return len(snapshot.rules) * RULE_BYTES + fragments * RESPONSE_BYTES_FACTOR + 4_096


@dataclass
class _Entry:
    snapshot: Snapshot
    checked_at: float
    size: int = 0


# Least recently used first. A hit moves its site to the end (atomic under the GIL).
_entries: OrderedDict[int, _Entry] = OrderedDict()
_bytes = 0
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
    """Compile the site's published configuration (a handful of queries).

    The cyclic garbage collector is paused meanwhile: a build allocates tens of thousands
    of long-lived objects (parsed trees, closures, generated code), and the collections
    they trigger made builds super-linear in the number of rules (measured 1.5-2.5x at
    5,000 rules). Reference counting still frees everything; cycles wait for the next
    collection after the build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _snapshot_build(site_id)
    finally:
        if enabled:
            gc.enable()


def _snapshot_build(site_id: int) -> Snapshot:
    site = Site.objects.filter(pk=site_id).values("timezone").first()
    if site is None:
        raise SiteGone(site_id)
    published = published_site_load(site_id=site_id)
    active = list(
        Segment.objects.filter(site_id=site_id, status=SegmentStatus.ACTIVE).values_list(
            "key", flat=True
        )
    )
    experiments, broken_experiments = experiments_compile(site_id=site_id)
    audiences = {e.audience for e in experiments if e.audience}
    optimizations, broken_optimizations = optimizations_compile(site_id=site_id)
    # Segments the optimizations' features test (decide evaluates them for those slots).
    featured = {f.segment for o in optimizations for f in o.features if f.kind == "segment"}
    # A segment that does not compile is reported in `broken`, never raised.
    rules, broken = site_segment_rules(
        site=site_id, keys={*active, *published.segment_keys, *audiences, *featured}
    )
    # Rules generate their evaluation code on first use; decide evaluates the segments the
    # slots target, the experiments' audiences and the optimizations' segment features, so
    # those are generated now, in the build, not in a visitor's request (the rest serve
    # explain through its RuleSet).
    for key in {*published.segment_keys, *audiences, *featured}:
        rule = rules.get(key)
        if rule is not None:
            rule.ready()
    snapshot = Snapshot(
        site_id=site_id,
        version=published.version,
        published=published,
        rules=rules,
        active_segments=tuple(sorted(set(active) - set(broken))),
        timezone=site["timezone"] or "UTC",
        broken_segments=broken,
        built_at=timezone.now(),
        experiments=experiments,
        holdout=holdout_compile(site_id=site_id),
        broken_experiments=broken_experiments,
        optimizations=optimizations,
        broken_optimizations=broken_optimizations,
        # One query more per build, so that an explaining decide needs none.
        field_labels=Labels.from_catalog(catalog=site_field_catalog(site=site_id)).fields,
    )
    # Compiled here, not in a visitor's request.
    snapshot.targeted_rule_set  # noqa: B018
    snapshot.resolution_programs  # noqa: B018
    return snapshot


def experiments_compile(*, site_id: int) -> tuple[tuple[CompiledExperiment, ...], dict[str, str]]:
    """The site's running experiments as the engine runs them (two queries), ordered by key,
    and the ones that cannot run with the reason (the engine adds those whose arm variant
    is not live). Weights are the current phase's (a bandit moves them within the phase),
    else the arms' own."""
    rows = list(
        Experiment.objects.filter(site_id=site_id, status=ExperimentStatus.RUNNING)
        .select_related("layer", "placement", "screen", "audience")
        .prefetch_related("arms__content_variant", "arms__design_variant")
        .order_by("key")
    )
    phases = {
        (p.experiment_id, p.number): p.weights
        for p in ExperimentPhase.objects.filter(experiment__in=rows)
    }
    out: list[CompiledExperiment] = []
    broken: dict[str, str] = {}
    for row in rows:
        weights = phases.get((row.pk, row.phase)) or {}
        arms = []
        for arm in row.arms.all():
            weight = weights.get(arm.key, arm.weight)
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
                weight = arm.weight
            variant = None if arm.is_control else arm.variant
            arms.append((arm.key, float(weight), variant.key if variant is not None else None))
        slot = row.placement if row.placement_id else row.screen
        try:
            if slot is None:
                raise ValueError("no placement or screen")
            out.append(
                CompiledExperiment(
                    key=row.key,
                    phase=row.phase,
                    slot_kind="placement" if row.placement_id else "screen",
                    slot_key=slot.key,
                    arms=compile_arms(arms),
                    seed=row.seed or row.key,
                    coverage=row.coverage,
                    audience=row.audience.key if row.audience_id else None,
                    layer_seed=(row.layer.seed or row.layer.key) if row.layer_id else None,
                    layer_start=row.layer_start if row.layer_id else 0.0,
                    layer_end=row.layer_end if row.layer_id else 1.0,
                )
            )
        except ValueError as error:  # no arms, zero weights: nobody is assigned
            broken[row.key] = str(error)
    return tuple(out), broken


def optimizations_compile(
    *, site_id: int
) -> tuple[tuple[CompiledOptimization, ...], dict[str, str]]:
    """The site's running optimizations as the engine serves them (two queries), ordered by
    key, and the ones that cannot run with the reason (the engine adds those whose arm
    variant is not live). Each serves its live model version's policy, else the uniform
    policy over its arms (version 0). A paused optimization is not here: its slot serves
    normal personalization."""
    rows = list(
        Optimization.objects.filter(site_id=site_id, status=OptimizationStatus.RUNNING)
        .select_related("placement", "screen", "live_version")
        .order_by("key")
    )
    arms: dict[int, dict[str, str]] = {}
    for optimization_id, key, content, design in (
        OptimizationArm.objects.filter(optimization__in=rows)
        .order_by("key")
        .values_list("optimization_id", "key", "content_variant__key", "design_variant__key")
    ):
        variant = content or design
        if variant:
            arms.setdefault(optimization_id, {})[key] = variant
    out: list[CompiledOptimization] = []
    broken: dict[str, str] = {}
    for row in rows:
        slot = row.placement if row.placement_id else row.screen
        live = row.live_version
        try:
            if slot is None:
                raise ValueError("no placement or screen")
            out.append(
                compile_optimization(
                    key=row.key,
                    slot_kind="placement" if row.placement_id else "screen",
                    slot_key=slot.key,
                    variants=arms.get(row.pk, {}),
                    features=row.features,
                    seed=row.seed or row.key,
                    holdout_share=row.holdout_share,
                    version=live.number if live is not None else 0,
                    policy=live.policy if live is not None else None,
                )
            )
        except ValueError as error:  # too few arms, a model or feature list that won't load
            broken[row.key] = str(error)
    return tuple(out), broken


def holdout_compile(*, site_id: int) -> CompiledHoldout | None:
    row = (
        GlobalHoldout.objects.filter(site_id=site_id, enabled=True, share__gt=0)
        .values("seed", "share")
        .first()
    )
    if row is None:
        return None
    return CompiledHoldout(seed=row["seed"] or "holdout", share=min(row["share"], 0.5))


def _cache_limits() -> tuple[int, int]:
    sites = int(getattr(settings, "PERSONALIZE_SNAPSHOT_CACHE_SITES", 1000))
    megabytes = float(getattr(settings, "PERSONALIZE_SNAPSHOT_CACHE_MB", 512))
    return max(sites, 1), int(megabytes * 1024 * 1024)


def _store(snapshot: Snapshot) -> None:
    """Keep `snapshot` as its site's entry and drop the least recently used sites while
    the cache is over a bound (the newest entry always stays)."""
    global _bytes
    entry = _Entry(snapshot=snapshot, checked_at=time.monotonic(), size=snapshot_size(snapshot))
    max_sites, max_bytes = _cache_limits()
    with _locks_guard:
        old = _entries.pop(snapshot.site_id, None)
        if old is not None:
            _bytes -= old.size
        _entries[snapshot.site_id] = entry
        _bytes += entry.size
        while len(_entries) > 1 and (len(_entries) > max_sites or _bytes > max_bytes):
            _, dropped = _entries.popitem(last=False)
            _bytes -= dropped.size


def snapshot_cache_stats() -> dict[str, int]:
    """Sites cached in this process and their estimated bytes (benchmarks, health)."""
    return {"sites": len(_entries), "bytes": _bytes}


def snapshot_get(site_id: int) -> Snapshot:
    """The site's current snapshot for this process (see the module docstring)."""
    entry = _entries.get(site_id)
    now = time.monotonic()
    if entry is not None and now - entry.checked_at < CHECK_INTERVAL:
        try:  # noqa: SIM105 - try/except is cheaper than contextlib.suppress on the hot path
            _entries.move_to_end(site_id)
        except KeyError:  # dropped by another thread meanwhile: still a valid answer
            pass
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
            _store(snapshot)
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
    global _bytes
    with _locks_guard:
        if site_id is None:
            _entries.clear()
            _bytes = 0
        else:
            dropped = _entries.pop(site_id, None)
            if dropped is not None:
                _bytes -= dropped.size


def snapshot_install(snapshot: Snapshot) -> None:
    """Use a prebuilt snapshot in this process (benchmarks and engine tests)."""
    _store(snapshot)
