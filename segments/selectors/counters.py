"""Behavioural counters as the admin shows them: for a segment, each event condition's
counter and how far its backfill has got."""

from __future__ import annotations

from typing import Literal, TypedDict

from segments.criteria.counters import event_nodes, spec_of
from segments.models import CounterSpec, Segment, SegmentKind, SegmentStatus
from segments.selectors.definitions import STORED_TREE_ERRORS, segment_rule

CounterProgressState = Literal["ready", "backfilling", "not counted", "scanned"]


class CounterProgress(TypedDict):
    event: str
    keep: int  # most recent matching events kept per person (0: none, scanned)
    state: CounterProgressState
    done: int
    total: int


def segment_counter_progress(*, segment: Segment) -> list[CounterProgress]:
    """One row per distinct event condition of the segment (and the segments it
    references): `ready` (decide reads the counter), `backfilling` (done/total profiles;
    decide scans recent events meanwhile), `not counted` (the segment is not active) or
    `scanned` (the count asked for is beyond what counters keep)."""
    if segment.kind != SegmentKind.DYNAMIC:
        return []
    try:
        rule = segment_rule(segment=segment)
    except STORED_TREE_ERRORS:
        return []
    rows: list[CounterProgress] = []
    specs = {}
    for node in event_nodes(rule._parsed.root):
        spec = spec_of(node)
        if spec is None:
            rows.append({"event": node.name, "keep": 0, "state": "scanned", "done": 0, "total": 0})
        else:
            specs.setdefault(spec.key, spec)
    stored = {
        s.key: s for s in CounterSpec.objects.filter(site_id=segment.site_id, key__in=list(specs))
    }
    for key, spec in specs.items():
        row = stored.get(key)
        if row is None or segment.status != SegmentStatus.ACTIVE:
            state: CounterProgressState = "not counted"
            done = total = 0
        else:
            state = "ready" if row.state == "ready" else "backfilling"
            done, total = row.done, max(row.total, row.done)
        rows.append(
            {"event": spec.name, "keep": spec.keep, "state": state, "done": done, "total": total}
        )
    return rows
