"""Behavioural counters' writes (the method is in segments.criteria.counters): which specs
a site's active segments need (`counter_specs_sync`, run when a segment changes), keeping
them up to date as events arrive (`counters_ingest`, inside the ingest transaction),
backfilling a new spec from stored events (`counter_backfill`, a Celery task, in batches
with progress), recomputing people whose stored events changed otherwise
(`counters_recompute`), and the privacy chores (`counters_clear`, `counters_purge`).

Concurrency: every write of a person's counters holds the profile row's lock
(`SELECT … FOR UPDATE`, in primary-key order), and ingest reads the site's specs only
*after* taking it. A backfill batch and an ingest of the same person are therefore
serialised: either the ingest's events are committed before the backfill reads them, or
the ingest, locking after the backfill's batch, sees the new spec and adds its events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from segments.criteria import Rule, compile_criteria
from segments.criteria.counters import CounterDefinition, specs_of_rules, stamps_add
from segments.criteria.values import epoch_seconds
from segments.models import CounterSpec, CounterState, Event, Profile
from segments.selectors.definitions import site_segment_rules
from tenancy.failopen import publish_quietly
from tenancy.services import site_config_bump

logger = logging.getLogger(__name__)

BACKFILL_BATCH = 500  # profiles per backfill transaction

# (profile id, event name, properties, occurred_at) of a stored event.
StoredEvent = tuple[int | None, str, Any, datetime]

# Compiled matchers by spec key (the key is a hash of the definition, so it never goes stale).
_matchers: dict[str, Rule] = {}


def _matcher(key: str, definition: CounterDefinition) -> Rule:
    """A rule that matches a one-event document when the event counts for the spec: the
    criteria engine's own event semantics (name, `where`), so counters and scans agree."""
    rule = _matchers.get(key)
    if rule is None:
        if len(_matchers) > 10_000:
            _matchers.clear()
        tree: dict[str, Any] = {"event": definition["event"]}
        if definition.get("where") is not None:
            tree["where"] = definition["where"]
        rule = _matchers[key] = compile_criteria(tree)
    return rule


def _counts(key: str, definition: CounterDefinition, properties: Any) -> bool:
    return _matcher(key, definition).matches(
        {
            "visitor": {},
            "profile": {},
            "context": {},
            "events": [{"name": definition["event"], "properties": properties}],
        }
    )


def _site_specs(site_id: int) -> dict[str, CounterDefinition]:
    return dict(CounterSpec.objects.filter(site_id=site_id).values_list("key", "definition"))


# --- which specs ------------------------------------------------------------------------------


def counter_specs_sync(*, site_id: int) -> list[CounterSpec]:
    """Make the site's counter specs those its active segments' event conditions read:
    create the missing ones (and queue their backfill once committed), delete the unused.
    Returns the specs created."""
    rules, _broken = site_segment_rules(site=site_id)
    wanted = specs_of_rules(rules.values())
    existing = set(CounterSpec.objects.filter(site_id=site_id).values_list("key", flat=True))
    gone = existing - set(wanted)
    if gone:
        CounterSpec.objects.filter(site_id=site_id, key__in=gone).delete()
    new = [k for k in wanted if k not in existing]
    if not new:
        return []
    total = Profile.objects.filter(site_id=site_id, consent=True).count()
    created = CounterSpec.objects.bulk_create(
        [
            CounterSpec(site_id=site_id, key=k, definition=wanted[k].definition, total=total)
            for k in new
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(lambda: counters_backfill_queue(site_id=site_id))
    return created


def counters_backfill_queue(*, site_id: int | None = None) -> int:
    """Queue the backfill of every spec not ready yet (of one site, or all): after a
    segment change, and periodically to resume a backfill that a restart interrupted."""
    from segments.tasks import counter_backfill_task

    specs = CounterSpec.objects.exclude(state=CounterState.READY)
    if site_id is not None:
        specs = specs.filter(site_id=site_id)
    ids = list(specs.values_list("pk", flat=True))
    for spec_id in ids:
        publish_quietly(counter_backfill_task, spec_id)
    return len(ids)


# --- backfill and recompute -------------------------------------------------------------------


def _recompute_locked(
    *, rows: dict[int, dict[str, Any]], specs: dict[str, CounterDefinition]
) -> list[Profile]:
    """Counters of `specs` recomputed from stored events for locked profiles `rows`
    (id -> counters); returns the profiles to save."""
    stamps: dict[tuple[int, str], list[float]] = {}
    names = {d["event"] for d in specs.values()}
    by_name: dict[str, list[tuple[str, CounterDefinition]]] = {}
    for key, definition in specs.items():
        by_name.setdefault(definition["event"], []).append((key, definition))
    events = (
        Event.objects.filter(profile_id__in=list(rows), name__in=names)
        .values_list("profile_id", "name", "properties", "occurred_at")
        .order_by()
    )
    for profile_id, name, properties, occurred_at in events.iterator(chunk_size=2000):
        for key, definition in by_name.get(name, ()):
            if _counts(key, definition, properties):
                stamps.setdefault((profile_id, key), []).append(epoch_seconds(occurred_at))
    out = []
    for profile_id, counters in rows.items():
        fresh = dict(counters or {})
        for key, definition in specs.items():
            kept = stamps_add(None, stamps.get((profile_id, key), ()), definition["keep"])
            if kept:
                fresh[key] = kept
            else:
                fresh.pop(key, None)  # no matching event: an absent counter counts 0
        if fresh != (counters or {}):
            out.append(Profile(pk=profile_id, counters=fresh))
    return out


def _locked(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return dict(
        Profile.objects.select_for_update()
        .filter(pk__in=list(ids), consent=True)
        .order_by("pk")
        .values_list("pk", "counters")
    )


def counters_recompute(*, site_id: int, profile_ids: Iterable[int]) -> int:
    """Recompute every counter of these people from their stored events (after anonymous
    events were attached to them, or a batch whose duplicates were skipped)."""
    ids = sorted(set(profile_ids))
    if not ids:
        return 0
    with transaction.atomic():
        rows = _locked(ids)
        specs = _site_specs(site_id)
        if not specs or not rows:
            return 0
        changed = _recompute_locked(rows=rows, specs=specs)
        Profile.objects.bulk_update(changed, ["counters"])
    return len(changed)


def counter_backfill(*, spec_id: int, batch: int = BACKFILL_BATCH) -> CounterSpec | None:
    """Fill one spec's counters from stored events, `batch` profiles per transaction in
    primary-key order, recording progress (`done`, `cursor`) after each so the admin
    shows it and an interrupted backfill resumes. Once every profile is done the spec is
    ready and the site's configuration version is bumped: delivery then reads it."""
    spec = CounterSpec.objects.filter(pk=spec_id).first()
    while spec is not None and spec.state != CounterState.READY:
        with transaction.atomic():
            spec = CounterSpec.objects.select_for_update().filter(pk=spec_id).first()
            if spec is None or spec.state == CounterState.READY:
                break
            ids = list(
                Profile.objects.filter(site_id=spec.site_id, pk__gt=spec.cursor, consent=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                rows = _locked(ids)
                changed = _recompute_locked(rows=rows, specs={spec.key: spec.definition})
                Profile.objects.bulk_update(changed, ["counters"])
                spec.cursor = ids[-1]
                spec.done += len(ids)
                spec.total = max(spec.total, spec.done)
                spec.save(update_fields=["cursor", "done", "total", "updated_at"])
            else:
                spec.state = CounterState.READY
                spec.ready_at = timezone.now()
                spec.total = spec.done
                spec.save(update_fields=["state", "ready_at", "total", "updated_at"])
                site_config_bump(site_id=spec.site_id)  # snapshots learn it is ready
    return spec


# --- ingest -----------------------------------------------------------------------------------


def counters_ingest(*, site_id: int, events: Sequence[StoredEvent], complete: bool) -> int:
    """Fold a just-inserted batch into its people's counters (inside the ingest's
    transaction). `complete`: every event of `events` was stored; otherwise (duplicates
    skipped by the database) the people concerned are recomputed from stored events.
    Costs two queries when the batch names known people (lock them, read the specs),
    one more when a counter changes; none otherwise. Returns the profiles updated."""
    ids = sorted({e[0] for e in events if e[0] is not None})
    if not ids:
        return 0
    rows = _locked(ids)
    specs = _site_specs(site_id)
    if not specs or not rows:
        return 0
    by_name: dict[str, list[tuple[str, CounterDefinition]]] = {}
    for key, definition in specs.items():
        by_name.setdefault(definition["event"], []).append((key, definition))
    if not complete:
        touched = {p for p, name, _, _ in events if p in rows and name in by_name}
        changed = _recompute_locked(rows={p: rows[p] for p in touched}, specs=specs)
    else:
        added: dict[int, dict[str, list[float]]] = {}
        for profile_id, name, properties, occurred_at in events:
            if profile_id not in rows:
                continue  # no profile, or no consent: nothing is counted
            for key, definition in by_name.get(name, ()):
                if _counts(key, definition, properties):
                    added.setdefault(profile_id, {}).setdefault(key, []).append(
                        epoch_seconds(occurred_at)
                    )
        changed = []
        for profile_id, new in added.items():
            counters = {k: v for k, v in (rows[profile_id] or {}).items() if k in specs}
            for key, stamps in new.items():
                counters[key] = stamps_add(counters.get(key), stamps, specs[key]["keep"])
            changed.append(Profile(pk=profile_id, counters=counters))
    if changed:
        Profile.objects.bulk_update(changed, ["counters"])
    return len(changed)


# --- privacy ----------------------------------------------------------------------------------


def counters_purge(*, site_id: int, before: datetime, chunk: int = 5_000) -> int:
    """Drop counted timestamps older than `before` (the retention purge deletes those
    events; what remains is then exactly the counters of the events kept). Returns the
    profiles changed."""
    cutoff = epoch_seconds(before)
    changed_total = 0
    last = 0
    while True:
        with transaction.atomic():
            ids = list(
                Profile.objects.filter(site_id=site_id, pk__gt=last)
                .exclude(counters={})
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                return changed_total
            last = ids[-1]
            changed = []
            for pk, counters in _locked_any(ids).items():
                kept = {k: [t for t in v if t >= cutoff] for k, v in (counters or {}).items()}
                kept = {k: v for k, v in kept.items() if v}
                if kept != counters:
                    changed.append(Profile(pk=pk, counters=kept))
            Profile.objects.bulk_update(changed, ["counters"])
            changed_total += len(changed)


def _locked_any(ids: list[int]) -> dict[int, dict[str, Any]]:
    return dict(
        Profile.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "counters")
    )
