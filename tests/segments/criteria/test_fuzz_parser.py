"""Hypothesis fuzzing of the criteria parser: any JSON tree (and the odd non-JSON value a
form might produce) compiles to a Rule or raises CriteriaError, nothing else, quickly."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.criteria import CriteriaError, Rule, compile_criteria
from segments.criteria.guards import precheck

FIELDS = [
    "profile.age",
    "profile.city",
    "context.city",
    "context.local_time",
    "context.os_version",
    "context.location",
    "visitor.visit_count",
    "properties.price",
]
OPS = [
    "eq",
    "neq",
    "in",
    "not_in",
    "lt",
    "gt",
    "between",
    "matches",
    "exists",
    "within_km",
    "hour_between",
    "within_last",
    "on_days",
    "contains",
    "starts_with",
    "before",
    "gte",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),  # includes lone surrogates and NUL
    st.sampled_from(FIELDS + OPS + ["all", "any", "none", "purchase", "rain"]),
)
json_trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "all",
                    "any",
                    "none",
                    "field",
                    "op",
                    "value",
                    "event",
                    "where",
                    "count",
                    "within_days",
                    "segment",
                    "rollout",
                    "salt",
                    "case_sensitive",
                    "x",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
conditions = st.fixed_dictionaries(
    {"field": st.sampled_from(FIELDS), "op": st.sampled_from(OPS), "value": json_trees}
)
events = st.fixed_dictionaries(
    {"event": st.text(max_size=5) | st.just("purchase")},
    optional={
        "within_days": scalars,
        "count": st.fixed_dictionaries(
            {"op": st.sampled_from(["gte", "lt", "between", "?"]), "value": json_trees}
        ),
        "where": st.fixed_dictionaries({"all": st.lists(conditions, max_size=2)}),
    },
)
plausible = st.dictionaries(
    st.sampled_from(["all", "any", "none"]),
    st.lists(
        st.one_of(conditions, events, st.fixed_dictionaries({"rollout": scalars}), json_trees),
        max_size=4,
    ),
    min_size=1,
    max_size=1,
)

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(milliseconds=500),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)


def _compile(tree):
    try:
        result = compile_criteria(tree, segment_key="fuzz")
    except CriteriaError as exc:
        assert exc.errors and all(e.path.startswith("$") for e in exc.errors)
        return None
    assert isinstance(result, Rule)
    return result


@FUZZ
@given(json_trees)
def test_any_json_tree_is_a_rule_or_a_criteria_error(tree):
    _compile(tree)


@FUZZ
@given(plausible)
def test_plausible_trees_are_a_rule_or_a_criteria_error(tree):
    rule = _compile(tree)
    if rule is not None:
        # a compiled rule evaluates an empty visitor without raising
        rule.matches({})


@FUZZ
@given(json_trees)
def test_precheck_raises_only_criteria_errors(tree):
    with contextlib.suppress(CriteriaError):
        precheck(tree)
