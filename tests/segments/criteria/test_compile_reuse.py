"""What a snapshot rebuild reuses: compiled rules by fingerprint (while something holds
them), generated code by shape, rules generated on first use; and the fast paths of the
precheck, rollouts, versions and prepared times, each against the plain computation."""

from __future__ import annotations

import copy
import gc
import json
import math
import random
import re
import string
import weakref
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.bucketing import hash_unit
from segments.criteria import CriteriaError, StaticSegment, compile_criteria, guards
from segments.criteria.catalog import normalize_fields
from segments.criteria.values import ReadTime, as_version, parse_when

CITY = {"all": [{"field": "context.city", "op": "eq", "value": "Detroit"}]}
REF = {"all": [{"segment": "base"}, {"field": "profile.age", "op": "gte", "value": 18}]}
DEFS = {"base": CITY, "vips": StaticSegment("vips", frozenset({"u1"}))}


def compiled(tree=REF, *, specs=None, defs=None, key="ref"):
    specs = specs if specs is not None else normalize_fields(None)
    return compile_criteria(tree, fields=specs, segments=defs or DEFS, segment_key=key)


def test_an_unchanged_tree_is_compiled_once_while_a_rule_holds_it():
    specs = normalize_fields(None)
    first = compiled(specs=specs)
    again = compiled(copy.deepcopy(REF), specs=specs, defs=copy.deepcopy(DEFS))
    assert again is first
    assert compiled(specs=normalize_fields(None)) is first  # the same catalog content
    held = weakref.ref(first)
    del first, again
    gc.collect()
    assert held() is None  # the cache holds rules weakly: nothing of its own


def test_whatever_the_rule_depends_on_makes_another_rule():
    first = compiled()
    doc = {"visitor": {"id": "v"}, "context": {"city": "Boston"}, "profile": {"age": 30}}
    assert first.matches(doc) is False
    boston = compiled(defs={**DEFS, "base": {"all": [{**CITY["all"][0], "value": "Boston"}]}})
    assert boston is not first and boston.matches(doc) is True
    assert compiled(key="other") is not first  # rollouts' default salt
    assert compiled(specs=normalize_fields({"profile.shoe": "number"})) is not first
    # the numbers JSON tells apart are different trees
    ages = [{"all": [{"field": "profile.age", "op": "eq", "value": v}]} for v in (1, 1.0)]
    assert compiled(ages[0]) is not compiled(ages[1])
    static = {"all": [{"segment": "vips"}]}
    vips = compiled(static)
    assert vips.matches({"visitor": {"user_id": "u1"}}) is True
    moved = compiled(static, defs={**DEFS, "vips": StaticSegment("vips", frozenset({"u2"}))})
    assert moved is not vips and moved.matches({"visitor": {"user_id": "u1"}}) is False
    # one rule per fingerprint: back to the first members, it is compiled again
    assert compiled(static).matches({"visitor": {"user_id": "u1"}}) is True


def test_an_invalid_tree_raises_every_time():
    bad = {"all": [{"field": "profile.nope", "op": "eq", "value": 1}]}
    for _ in range(2):
        with pytest.raises(CriteriaError):
            compiled(bad)


def test_rules_of_one_shape_share_their_generated_code():
    trees = [{"all": [{"field": "context.city", "op": "eq", "value": c}]} for c in "AB"]
    a, b = (compile_criteria(t).ready() for t in trees)
    assert a.matches.__code__ is b.matches.__code__  # compiled once
    assert a.matches({"context": {"city": "a"}}) and not b.matches({"context": {"city": "a"}})


def test_a_rule_generates_its_code_on_first_use():
    rule = compile_criteria(
        {"all": [{"field": "context.local_time", "op": "within_last", "value": {"hours": 2}}]}
    )
    assert rule._fn is None
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    doc = {"context": {"local_time": "2026-11-22T11:00:00Z"}}
    assert rule.matches(doc, now) is True and rule._fn is not None
    assert rule.matches(doc, now + timedelta(hours=2)) is False


# -- the precheck's fast path answers as the walk -----------------------------------------


def reference_precheck(tree: Any) -> None:
    """The precheck as it was before the fast path: paths built for every node and the
    size always measured."""
    if not isinstance(tree, dict):
        raise CriteriaError("$", 'Criteria must be a JSON object, e.g. {"all": []}.')
    stack: list[tuple[Any, int, str]] = [(tree, 1, "$")]
    containers = 0
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            for key in node:
                problem = guards.text_problem(key) if isinstance(key, str) else None
                if problem:
                    raise CriteriaError(path, f"A key is not storable: {problem}")
            items: Any = ((f"{path}.{key}", child) for key, child in node.items())
        elif isinstance(node, list):
            items = ((f"{path}[{index}]", child) for index, child in enumerate(node))
        else:
            problem = guards.scalar_problem(node)
            if problem:
                raise CriteriaError(path, problem)
            continue
        containers += 1
        if depth > guards.HARD_MAX_DEPTH:
            raise CriteriaError(
                "$", f"The criteria are nested more than {guards.HARD_MAX_DEPTH} levels deep."
            )
        if containers > guards.HARD_MAX_CONTAINERS:
            raise CriteriaError("$", "The criteria are far too large.")
        stack.extend((child, depth + 1, child_path) for child_path, child in items)
    size = len(json.dumps(tree, default=str))
    if size > guards.MAX_CRITERIA_BYTES:
        raise CriteriaError(
            "$",
            f"The criteria are {size // 1024} KB; at most {guards.MAX_CRITERIA_BYTES // 1024} KB.",
        )


def outcome(check, tree):
    try:
        check(tree)
    except CriteriaError as exc:
        return (exc.path, exc.message)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__
    return None


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 9_999_999_999_999_999]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e16, 1e15, 9.007199254740993e15, 1e-7]),
    st.text(max_size=12),
    st.sampled_from(["a\x00b", "\ud800", "x\udfff", "e+5", "[{", "\\u0000", "é😀", "0" * 20]),
)
keys = st.one_of(st.text(max_size=6), st.sampled_from(["all", "\x00", "\ud83d", "{"]))
json_trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(tree=st.dictionaries(keys, json_trees, max_size=4))
def test_the_precheck_answers_as_the_walk_it_replaced(tree):
    assert outcome(guards.precheck, tree) == outcome(reference_precheck, tree)


def test_the_precheck_answers_as_the_walk_at_its_limits():
    cases = [
        {"all": [{"field": "profile.city", "op": "eq", "value": "x" * 300_000}]},
        {"all": [{"field": "profile.city", "op": "eq", "value": "é" * 100_000}]},
        {"all": [{"field": "profile.city", "op": "eq", "value": "x" * 200_000}]},
        {"any": [[] for _ in range(guards.HARD_MAX_CONTAINERS)]},
        {"any": [[] for _ in range(guards.HARD_MAX_DEPTH + 1)]},
        {"v": datetime(2026, 1, 1, tzinfo=UTC)},
        {"v": {(1, 2): 3}},
        {"v": [math.nan]},
    ]
    deep: dict = {"all": []}
    for _ in range(guards.HARD_MAX_DEPTH):
        deep = {"all": [deep]}
    cases.append(deep)
    for tree in cases:
        assert outcome(guards.precheck, tree) == outcome(reference_precheck, tree)


# -- rollouts, versions and prepared times -------------------------------------------------


def test_rollouts_bucket_exactly_as_hash_unit():
    rng = random.Random(2)
    alphabet = string.printable + "é😀\u2028"
    for _ in range(3000):
        salt = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        unit = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        percent = rng.uniform(0, 100)
        rule = compile_criteria({"rollout": percent, "salt": salt})
        expected = hash_unit(salt, unit) < percent / 100
        assert rule.matches({"visitor": {"id": unit}}) is expected, (salt, unit)


def test_versions_read_the_same_memoised_or_not():
    for text in ["17.2", "v17.10.0", "3.2-beta", "x", "1." * 40 + "1", "17" * 40]:
        assert as_version(text) == as_version(text)  # the memo's answer, twice
        match = re.fullmatch(r"v?([0-9]{1,9}(?:\.[0-9]{1,9}){0,7})(?:[-+].*)?", text, re.DOTALL)
        if match is None:
            assert as_version(text) is None
        else:
            parts = [int(p) for p in match.group(1).split(".")]
            while len(parts) > 1 and parts[-1] == 0:
                parts.pop()
            assert as_version(text) == tuple(parts)


def test_a_prepared_time_reads_as_its_text():
    rng = random.Random(8)
    base = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    for _ in range(300):
        zone = timezone(timedelta(minutes=rng.choice([-300, 0, 60, 330, 840])))
        text = (base + timedelta(minutes=rng.randint(0, 60 * 24 * 400))).astimezone(zone)
        text = text.isoformat()
        read = ReadTime.fromisoformat(text)
        assert parse_when(read) == parse_when(text)
        assert parse_when(read) is parse_when(read)  # read once
        assert read == datetime.fromisoformat(text) and read.isoformat() == text


def test_event_conditions_on_a_visitor_without_events_answer_as_the_counter():
    from segments.criteria import compile_rules

    counts = [
        None,
        *({"op": op, "value": v} for op in ("gte", "gt", "eq", "lte", "lt") for v in (0, 1)),
    ]
    counts.append({"op": "between", "value": [0, 2]})
    docs = [
        {"visitor": {"id": "v"}, "events": []},
        {"visitor": {"id": "v"}},
        {"visitor": {"id": "v"}, "events": "junk"},
        {"visitor": {"id": "v"}, "events": [{"name": "purchase", "timestamp": "2026-11-22"}]},
    ]
    for count in counts:
        node = {"event": "purchase", **({"count": count} if count else {})}
        for tree in (node, {"all": [node, {"field": "context.city", "op": "is_not_set"}]}):
            rule = compile_criteria(tree)
            rule_set = compile_rules({"a": tree, "b": {"none": [tree]}})
            for doc in docs:
                expected = rule.explain(doc)["passed"]  # the closures: the counter runs
                assert rule.matches(doc) is expected, (count, doc)
                assert rule_set.matching(doc) == (["a"] if expected else ["b"])
