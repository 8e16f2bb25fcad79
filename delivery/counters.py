"""Behavioural counters at decide time: which of a snapshot's event conditions can be read
from the person's counters (their spec is backfilled: `ready`), and the counters part of a
known visitor's document. The counters ride in the decide's one profile query
(`delivery.selectors.profile_for_decide`); when every event condition of the site is
covered, the profile's recent events are not even loaded.

The plan is computed once per snapshot and process (one small query, on the first known
visitor's decide after a rebuild; a backfill that completes bumps the site's
configuration version, so the next snapshot sees it).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from delivery.engine import Snapshot
from segments.criteria.counters import CounterDoc, event_nodes, spec_of
from segments.models import CounterSpec, CounterState


@dataclass(frozen=True)
class CounterPlan:
    ready: tuple[str, ...]  # spec keys decide reads from counters
    covers_all: bool  # every event condition is read from counters: no recent events needed


_NONE = CounterPlan(ready=(), covers_all=False)
_plans: dict[int, tuple[Snapshot, CounterPlan]] = {}
_lock = threading.Lock()


def counter_plan(snapshot: Snapshot) -> CounterPlan:
    """The snapshot's counter plan (cached per snapshot object)."""
    cached = _plans.get(snapshot.site_id)
    if cached is not None and cached[0] is snapshot:
        return cached[1]
    plan = _plan_build(snapshot)
    with _lock:
        _plans[snapshot.site_id] = (snapshot, plan)
    return plan


def _plan_build(snapshot: Snapshot) -> CounterPlan:
    if not snapshot.reads_events:
        return _NONE
    keys: set[str] = set()
    every = True
    for rule in snapshot.rules.values():
        parsed = getattr(rule, "_parsed", None)
        if parsed is None:
            return _NONE  # not a criteria rule (engine tests): scan as before
        for node in event_nodes(parsed.root):
            spec = spec_of(node)
            if spec is None:
                every = False  # needs more than counters keep: scanned
            else:
                keys.add(spec.key)
    if not keys:
        return _NONE
    ready = set(
        CounterSpec.objects.filter(
            site_id=snapshot.site_id, key__in=keys, state=CounterState.READY
        ).values_list("key", flat=True)
    )
    return CounterPlan(ready=tuple(sorted(ready)), covers_all=every and ready == keys)


def counters_doc(
    plan: CounterPlan, stored: Mapping[str, Any] | None, inline_events: Sequence[Any]
) -> CounterDoc | None:
    """`doc["counters"]`: the ready specs' counters of a stored person (an absent counter
    is a person with no matching event) and how many inline events precede the stored
    ones in `doc["events"]`."""
    if stored is None or not plan.ready:
        return None
    counters = stored.get("counters") or {}
    return {
        "specs": {key: counters.get(key) or [] for key in plan.ready},
        "inline": len(inline_events),
    }
