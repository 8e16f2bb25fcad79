"""The size, depth and string limits of segments.criteria.guards, and what stays pure."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import segments.criteria
from segments.criteria import CriteriaError, compile_criteria, guards, set_sql_compiler

CRITERIA_DIR = Path(segments.criteria.__file__).parent
AGE = {"field": "profile.age", "op": "gte", "value": 18}


def precheck_error(tree) -> CriteriaError:
    with pytest.raises(CriteriaError) as info:
        guards.precheck(tree)
    assert info.value.path == "$"
    return info.value


def test_precheck_rejects_what_no_valid_tree_is():
    guards.precheck({"all": [AGE]})
    assert "must be a JSON object" in precheck_error([AGE]).message
    deep: dict = {"all": []}
    for _ in range(guards.HARD_MAX_DEPTH):
        deep = {"all": [deep]}
    assert precheck_error(deep).message == "The criteria are nested more than 40 levels deep."
    wide = {"any": [[] for _ in range(guards.HARD_MAX_CONTAINERS)]}
    assert precheck_error(wide).message == "The criteria are far too large."
    big = {"all": [{"field": "profile.city", "op": "eq", "value": "x" * 300_000}]}
    assert precheck_error(big).message == "The criteria are 293 KB; at most 256 KB."


def test_recursion_guard_reports_a_criteria_error():
    with pytest.raises(CriteriaError) as info, guards.recursion_guard():
        raise RecursionError
    assert info.value.path == "$" and info.value.message == "The criteria are nested too deeply."


def test_the_parser_reports_guard_breaches_with_paths():
    cases = [
        ({"field": "profile.city", "op": "eq", "value": "x" * 10_001}, "$.value", "10000 char"),
        ({"field": "profile.city", "op": "matches", "value": "a" * 501}, "$.value", "500 char"),
        ({"event": "x" * 101}, "$.event", "1 to 100 characters"),
        ({"event": ""}, "$.event", "1 to 100 characters"),
    ]
    for tree, path, message in cases:
        with pytest.raises(CriteriaError) as info:
            compile_criteria(tree)
        assert info.value.path == path and message in info.value.message, tree


def test_a_count_operator_that_is_not_text_is_a_criteria_error():
    # An unhashable operator once escaped as a TypeError (a 500 in the API).
    for op in (["gte"], {"op": "gte"}):
        with pytest.raises(CriteriaError) as info:
            compile_criteria({"event": "purchase", "count": {"op": op, "value": 1}})
        assert info.value.path == "$.count.op"


def test_rules_nested_past_pythons_parenthesis_limit_still_compile():
    # Segment references inline their trees: 40 references of 8 levels each is 320 groups,
    # beyond what Python's parser takes in one expression. The closures evaluate them.
    segments = {}
    for i in range(40):
        inner = {"segment": f"s{i + 1}"} if i < 39 else AGE
        for kind in ("all", "any", "none", "none") * 2:
            inner = {kind: [inner]}
        segments[f"s{i}"] = inner
    rule = compile_criteria({"segment": "s0"}, segments=segments)
    assert rule.matches({"profile": {"age": 30}}) is True
    assert rule.matches({"profile": {"age": 3}}) is False


def test_the_criteria_package_imports_no_django():
    for path in CRITERIA_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith("django"), f"{path.name} imports {name}"
                if name.startswith("segments.") and not name.startswith("segments.criteria"):
                    assert name == "segments.bucketing", f"{path.name} imports {name}"
    code = (
        "import sys, segments.criteria; "
        "sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    )
    root = CRITERIA_DIR.parent.parent
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_to_q_needs_the_registered_sql_compiler(monkeypatch):
    from segments.sql import to_q

    assert segments.criteria._sql_compiler is to_q  # registered by SegmentsConfig.ready()
    rule = compile_criteria({"all": [AGE]})
    monkeypatch.setattr(segments.criteria, "_sql_compiler", None)
    with pytest.raises(RuntimeError, match="No SQL compiler is registered"):
        rule.to_q()
    set_sql_compiler(lambda root, now: ("compiled", root, now))
    assert rule.to_q()[0] == "compiled"
