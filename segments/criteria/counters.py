"""Behavioural counters: what an event condition needs to know about a person, kept small.

An event node counts a person's events with one name whose properties pass `where`, within
an optional window, and compares the count with a threshold. Rather than scanning every
event at decide time, each person keeps, per *counter spec*, the timestamps (epoch
seconds, newest first) of their `keep` most recent matching events, where `keep` is the
node's largest count threshold plus one:

- "at least 3 in 30 days" is true exactly when the 3rd most recent match is in the window;
- "exactly 2" needs the 3 most recent: 2 in the window and the 3rd out of it;
- every other count test (gt, lt, lte, between) is decided the same way: if all `keep`
  stored timestamps are in the window the true count is at least `keep`, which is above
  every threshold of the node, and a count capped at `keep` answers every test alike.

Timestamps rather than per-day buckets: the window is applied at evaluation time to the
exact event instants (as a scan does), late and out-of-order events are a sorted insert,
and there is nothing to sum (event nodes only count). The list is bounded by `keep`
(MAX_KEEP at most; a node asking for more is evaluated by scanning, as before).

Pure: no Django. `spec_of(node)` is what both the in-memory compiler (to read a counter)
and the services (to maintain and backfill one) call, so they agree on the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from segments.criteria.nodes import Condition, EventNode, Group, SegmentRef, StaticSegment

MAX_KEEP = 200  # counters keep at most this many timestamps per person and spec


class CounterDefinition(TypedDict):
    """A spec as stored (`segments.models.CounterSpec.definition`): enough to rebuild it."""

    event: str
    where: dict[str, Any] | None
    keep: int


class CounterDoc(TypedDict):
    """`doc["counters"]` of a visitor document: counters of the specs that are complete
    for the person (key -> timestamps, newest first) and how many of `doc["events"]` (the
    first ones) came inline with the request, which are counted on top of the counters."""

    specs: Mapping[str, list[float]]
    inline: int


@dataclass(frozen=True, slots=True)
class CounterSpec:
    key: str
    definition: CounterDefinition

    @property
    def name(self) -> str:
        return self.definition["event"]

    @property
    def keep(self) -> int:
        return self.definition["keep"]


def _threshold(node: EventNode) -> int:
    value = node.count_value
    if node.count_op == "between":
        return int(value[1])
    return int(value)


def where_tree(node: Any) -> dict[str, Any]:
    """A validated `where` group written back as a canonical criteria tree (key order,
    defaults and the case switch normalised), so equal filters give equal specs."""
    if isinstance(node, Group):
        return {node.kind: [where_tree(child) for child in node.children]}
    if isinstance(node, Condition):
        out: dict[str, Any] = {"field": node.field, "op": node.op}
        if node.raw_value is not None:
            out["value"] = node.raw_value
        if node.case_sensitive:
            out["case_sensitive"] = True
        return out
    raise TypeError(f"unexpected node in where: {node!r}")  # pragma: no cover


def spec_of(node: EventNode) -> CounterSpec | None:
    """The counter an event node reads, or None when it needs more than MAX_KEEP (then it
    is evaluated by scanning the events)."""
    keep = _threshold(node) + 1
    if keep > MAX_KEEP:
        return None
    definition: CounterDefinition = {
        "event": node.name,
        "where": where_tree(node.where) if node.where is not None else None,
        "keep": keep,
    }
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return CounterSpec(hashlib.sha256(canonical.encode()).hexdigest()[:16], definition)


def event_nodes(root: Any) -> Iterable[EventNode]:
    """Every event node of a validated tree, through inlined segment references."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, EventNode):
            yield node
        elif isinstance(node, Group):
            stack.extend(node.children)
        elif isinstance(node, SegmentRef) and not isinstance(node.target, StaticSegment):
            stack.append(node.target)


def specs_of_rules(rules: Iterable[Any]) -> dict[str, CounterSpec]:
    """The counter specs that compiled rules (`criteria.Rule`) read, by key."""
    out: dict[str, CounterSpec] = {}
    for rule in rules:
        parsed = getattr(rule, "_parsed", None)
        if parsed is None:
            continue
        for node in event_nodes(parsed.root):
            spec = spec_of(node)
            if spec is not None:
                out.setdefault(spec.key, spec)
    return out


def stamps_add(stamps: list[float] | None, new: Iterable[float], keep: int) -> list[float]:
    """The `keep` most recent of `stamps` and `new` (events arriving late or out of
    order land in their place), newest first."""
    merged = sorted([*(stamps or ()), *new], reverse=True)
    return merged[:keep]


def count_since(stamps: Iterable[float], cutoff: float | None) -> int:
    """How many timestamps are at or after `cutoff` (all when None)."""
    if cutoff is None:
        return sum(1 for _ in stamps)
    n = 0
    for ts in stamps:  # newest first: stop at the first one outside the window
        if ts < cutoff:
            break
        n += 1
    return n
