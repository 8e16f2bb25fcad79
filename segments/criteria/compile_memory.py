"""Compile validated nodes into closures `fn(doc, now) -> bool` (now: epoch seconds or None).

The JSON is never looked at again after this: each condition becomes one closure that reads
its field, converts it to the field's type once and applies a pre-computed operand.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import re2

from segments.bucketing import hash_unit
from segments.criteria import values as V
from segments.criteria.counters import count_since, spec_of
from segments.criteria.nodes import Condition, EventNode, Group, Rollout, SegmentRef, StaticSegment
from segments.criteria.parse import re2_options
from segments.criteria.types import ConditionType, CountOperator

Fn = Callable[[Any, Any], bool]
_fold = V.fold
_CMP = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}


def _string_ci(v: Any) -> str | None:
    if v.__class__ is not str:
        return None
    return v.lower() if v.isascii() else _fold(v)


READERS: dict[ConditionType, Callable[[Any], Any]] = {
    "string": V.as_string,
    "enum": V.as_string,
    "number": V.read_number,
    "boolean": V.read_bool,
    "date": V.parse_when,
    "datetime": V.parse_when,
    "version": V.read_version,
    "geo": V.as_geo,
    "any": lambda v: v,
}


def _raw_getter(root: str, keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """Raw value at root.keys, None when missing (JSON null counts as missing)."""
    if len(keys) == 1:
        (k,) = keys

        def get1(d: Any) -> Any:
            r = d.get(root)
            return r.get(k) if r.__class__ is dict else None

        return get1

    def getn(d: Any) -> Any:
        cur = d.get(root)
        for k in keys:
            if cur.__class__ is not dict:
                return None
            cur = cur.get(k)
        return cur

    return getn


def typed_getter(c: Condition) -> Callable[[Any], Any]:
    """Field value converted to the condition's type (folded for case-insensitive text)."""
    raw = _raw_getter(c.root, c.keys)
    if c.type in ("string", "enum") and not c.case_sensitive and c.op != "matches":
        read = _string_ci
    elif c.type == "list":
        cs = c.case_sensitive
        return lambda d: V.string_list(raw(d), cs)
    else:
        read = READERS[c.type]
    if len(c.keys) == 1:
        root, (k,) = c.root, c.keys

        def get1(d: Any) -> Any:
            r = d.get(root)
            return read(r.get(k)) if r.__class__ is dict else None

        return get1
    return lambda d: read(raw(d))


def _test(c: Condition) -> tuple[Callable[..., bool], bool]:
    """The predicate on a typed value; the flag says whether it also takes `now`."""
    op, t = c.op, c.value
    idx = 1 if c.type == "date" else 0  # date fields compare whole days, datetimes instants
    if c.type in ("date", "datetime"):
        if op in ("eq", "neq", "lt", "lte", "gt", "gte"):
            cmp = {"eq": operator.eq, "neq": operator.ne, **_CMP}[op]
            return (lambda x: cmp(x[idx], t)), False
        if op == "between":
            lo, hi = t
            return (lambda x: lo <= x[idx] <= hi), False
        if op == "within_last":
            return (lambda x, now: now - t <= x[idx] <= now), True
        if op == "more_than_ago":
            return (lambda x, now: x[idx] < now - t), True
        if op == "hour_between":
            lo, hi = t
            if lo <= hi:
                return (lambda x: lo <= x[2] < hi), False
            return (lambda x: x[2] >= lo or x[2] < hi), False
        if op == "day_of_week_in":
            return (lambda x: x[3] in t), False
    if c.type == "version":
        if op == "between":
            lo, hi = V.as_version(t[0]), V.as_version(t[1])
            return (lambda x: lo <= x <= hi), False
        tv = V.as_version(t)
        cmp = {"eq": operator.eq, "neq": operator.ne, **_CMP}[op]
        return (lambda x: cmp(x, tv)), False
    if c.type == "geo":
        lat, lng, km = t
        return (lambda x: V.haversine_km(x[0], x[1], lat, lng) <= km), False
    if op == "eq":
        return (lambda x: x == t), False
    if op == "neq":
        return (lambda x: x != t), False
    if op == "in":
        return t.__contains__, False
    if op == "not_in":
        return (lambda x: x not in t), False
    if op in _CMP:
        cmp = _CMP[op]
        return (lambda x: cmp(x, t)), False
    if op == "between":
        lo, hi = t
        return (lambda x: lo <= x <= hi), False
    if op == "contains":
        return (lambda x: t in x), False
    if op == "not_contains":
        return (lambda x: t not in x), False
    if op == "starts_with":
        return (lambda x: x.startswith(t)), False
    if op == "ends_with":
        return (lambda x: x.endswith(t)), False
    if op == "matches":
        search = re2.compile(t, re2_options(c.case_sensitive)).search
        limit = V.MAX_REGEX_INPUT
        return (lambda x: len(x) <= limit and search(x) is not None), False
    if op == "contains_any":
        return (lambda x: not t.isdisjoint(x)), False
    if op == "contains_all":
        return t.issubset, False
    if op == "is_true":
        return (lambda x: x is True), False
    if op == "is_false":
        return (lambda x: x is False), False
    raise AssertionError(f"unhandled operator {op}")  # pragma: no cover


def compile_condition(c: Condition) -> Fn:
    if c.op == "is_not_set":
        raw = _raw_getter(c.root, c.keys)
        return lambda d, now: raw(d) is None
    get = typed_getter(c)
    if c.op == "is_set":
        return lambda d, now: get(d) is not None
    test, needs_now = _test(c)
    if needs_now:

        def fn_now(d: Any, now: Any) -> bool:
            x = get(d)
            return x is not None and test(x, now)

        return fn_now

    def fn(d: Any, now: Any) -> bool:
        x = get(d)
        return x is not None and test(x)

    return fn


def compile_group(g: Group, children: list[Fn]) -> Fn:
    fns = tuple(children)
    if g.kind == "all":
        if not fns:
            return lambda d, now: True
        if len(fns) == 1:
            return fns[0]

        def all_(d: Any, now: Any) -> bool:
            for f in fns:  # noqa: SIM110 (a plain loop is faster than all(genexpr))
                if not f(d, now):
                    return False
            return True

        return all_

    def any_(d: Any, now: Any) -> bool:
        for f in fns:  # noqa: SIM110
            if f(d, now):
                return True
        return False

    if g.kind == "any":
        return any_
    return lambda d, now: not any_(d, now)


def count_test(op: CountOperator, v: Any) -> Callable[[int], bool]:
    if op == "between":
        lo, hi = v
        return lambda n: lo <= n <= hi
    return {
        "gte": lambda n: n >= v,
        "gt": lambda n: n > v,
        "eq": lambda n: n == v,
        "lte": lambda n: n <= v,
        "lt": lambda n: n < v,
    }[op]


def event_counter(e: EventNode, where: Fn | None) -> Callable[[Any, Any], int]:
    """How many of the document's events count for this node.

    When the document carries this node's counter (`doc["counters"]`, see
    segments.criteria.counters), the stored events are read from it, capped at the
    counter's `keep` (which decides the count test exactly), and only the inline events
    (the first `inline` of `events`) are scanned on top."""
    name, secs = e.name, e.within_seconds
    spec = spec_of(e)
    key = spec.key if spec is not None else None

    def count(d: Any, now: Any) -> int:
        events = d.get("events")
        n = 0
        cutoff = now - secs if secs is not None else None
        counters = d.get("counters")
        if counters.__class__ is dict and key is not None:
            stamps = counters["specs"].get(key)
            if stamps is not None:
                n = count_since(stamps, cutoff)
                if events.__class__ is list:
                    events = events[: counters["inline"]]
        if events.__class__ is list:
            for ev in events:
                if ev.__class__ is not dict or ev.get("name") != name:
                    continue
                if cutoff is not None:
                    w = V.parse_when(ev.get("timestamp"))
                    if w is None or w[0] < cutoff:
                        continue
                if where is not None:
                    props = ev.get("properties")
                    if not where({"properties": props if props.__class__ is dict else {}}, now):
                        continue
                n += 1
        return n

    return count


def compile_event(e: EventNode, where: Fn | None) -> Fn:
    count, ok = event_counter(e, where), count_test(e.count_op, e.count_value)
    return lambda d, now: ok(count(d, now))


def compile_static(s: StaticSegment) -> Fn:
    ids = s.user_ids

    def fn(d: Any, now: Any) -> bool:
        v = d.get("visitor")
        uid = v.get("user_id") if v.__class__ is dict else None
        return uid.__class__ is str and uid in ids

    return fn


def compile_rollout(r: Rollout) -> Fn:
    salt, limit = r.salt, r.percent / 100.0
    if not salt.isascii():

        def fn(d: Any, now: Any) -> bool:
            v = d.get("visitor")
            vid = v.get("id") if v.__class__ is dict else None
            return vid.__class__ is str and hash_unit(salt, vid) < limit

        return fn

    # hash_unit(salt, id) hashes salt + id with FNV-1a, one character after the other: the
    # state after the salt is the same for every visitor, so it is computed here once and
    # a decision hashes only the id (the bucketing tests hold the two equal).
    start = fnv1a32_continue(_FNV_OFFSET, salt.encode("ascii"))

    def fast(d: Any, now: Any) -> bool:
        v = d.get("visitor")
        vid = v.get("id") if v.__class__ is dict else None
        if vid.__class__ is not str:
            return False
        if not vid.isascii():
            return hash_unit(salt, vid) < limit
        h = start
        for b in vid.encode("ascii"):
            h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
        outer = _FNV_OFFSET
        for b in str(h).encode("ascii"):
            outer = ((outer ^ b) * _FNV_PRIME) & 0xFFFFFFFF
        return (outer % 10000) / 10000 < limit

    return fast


_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32_continue(h: int, data: bytes) -> int:
    """FNV-1a 32-bit over ASCII `data`, from state `h` (the offset basis to start)."""
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    return h


class Compiled:
    """A compiled node: its closure plus what explain() needs."""

    __slots__ = ("children", "fn", "node")

    def __init__(self, node: Any, fn: Fn, children: tuple[Compiled, ...] = ()) -> None:
        self.node, self.fn, self.children = node, fn, children


def compile_node(node: Any, memo: dict[int, Compiled] | None = None) -> Compiled:
    memo = {} if memo is None else memo
    if id(node) in memo:  # a segment referenced twice compiles once
        return memo[id(node)]
    if isinstance(node, Group):
        kids = tuple(compile_node(ch, memo) for ch in node.children)
        out = Compiled(node, compile_group(node, [k.fn for k in kids]), kids)
    elif isinstance(node, Condition):
        out = Compiled(node, compile_condition(node))
    elif isinstance(node, EventNode):
        where = compile_node(node.where, memo) if node.where is not None else None
        out = Compiled(
            node, compile_event(node, where.fn if where else None), (where,) if where else ()
        )
    elif isinstance(node, SegmentRef):
        if isinstance(node.target, StaticSegment):
            out = Compiled(node, compile_static(node.target))
        else:
            inner = compile_node(node.target, memo)
            out = Compiled(node, inner.fn, (inner,))
    elif isinstance(node, Rollout):
        out = Compiled(node, compile_rollout(node))
    else:  # pragma: no cover
        raise TypeError(node)
    memo[id(node)] = out
    return out
