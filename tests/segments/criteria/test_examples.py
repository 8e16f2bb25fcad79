"""segments/criteria/examples.json: valid trees, every node kind, and the docs built from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest

from segments import demo
from segments.criteria import compile_criteria
from segments.criteria.examples import (
    criteria_example,
    criteria_examples,
    docs_markdown,
    replace_docs_section,
)
from segments.criteria.types import NodeKind

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = criteria_examples()
TREES = {example["name"]: example["tree"] for example in EXAMPLES}


def walk(node: Any) -> list[dict[str, Any]]:
    """Every node of a tree, `where` filters included."""
    nodes = [node]
    for kind in ("all", "any", "none"):
        for child in node.get(kind, []):
            nodes += walk(child)
    if "where" in node:
        nodes += walk(node["where"])
    return nodes


def kind_of(node: dict[str, Any]) -> str:
    for kind in ("all", "any", "none", "event", "segment", "rollout"):
        if kind in node:
            return kind
    return "condition"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_example_is_valid_and_matches_its_document(example: dict[str, Any]) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", example["name"])
    assert example["title"] and example["description"]
    rule = compile_criteria(
        example["tree"], fields=example.get("fields"), segments=TREES, segment_key=example["name"]
    )
    if "document" in example:
        assert rule.matches(example["document"])


def test_examples_cover_every_node_kind_and_typical_operators() -> None:
    nodes = [node for tree in TREES.values() for node in walk(tree)]
    assert {kind_of(node) for node in nodes} == set(get_args(NodeKind))
    operators = {node["op"] for node in nodes if kind_of(node) == "condition"}
    assert {
        "eq",
        "in",
        "lt",
        "gte",
        "between",
        "contains",
        "starts_with",
        "matches",
        "contains_any",
        "is_true",
        "is_not_set",
        "within_last",
        "more_than_ago",
        "hour_between",
        "day_of_week_in",
        "within_km",
    } <= operators
    # Segment references name other examples.
    referenced = {node["segment"] for node in nodes if kind_of(node) == "segment"}
    assert referenced <= set(TREES)


def test_lookups_return_copies() -> None:
    criteria_example("in-car")["tree"]["all"].clear()
    assert criteria_example("in-car")["tree"]["all"]
    with pytest.raises(KeyError):
        criteria_example("no-such-example")


def test_docs_examples_section_is_generated_from_the_file() -> None:
    page = (ROOT / "docs" / "criteria.md").read_text(encoding="utf-8")
    assert docs_markdown() in page, (
        "docs/criteria.md's examples are stale: "
        "python -m segments.criteria.examples docs/criteria.md"
    )
    assert replace_docs_section(page) == page


def test_demo_segments_use_the_shared_trees() -> None:
    for spec in demo.SEGMENTS:
        assert spec["criteria"] == TREES[spec["key"]], spec["key"]
