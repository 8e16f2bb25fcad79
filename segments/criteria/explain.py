"""Tree-shaped explanations for previews: which nodes passed, with readable summaries.

Each node keeps its machine fields (`path`, `type`, `field`, `op`, `value`, `actual`) and
adds human text beside them: `summary` (a sentence in the words of `labels`, e.g. "Gender
is Non-binary (actual: Female)") and, for conditions, `field_label`, `op_label`,
`value_label` and `actual_label`. JSON paths stay a detail (`path`), never the sentence."""

from __future__ import annotations

from typing import Any

from segments.criteria.catalog import BUILTIN_FIELDS
from segments.criteria.compile_memory import Compiled, _raw_getter, event_counter
from segments.criteria.labels import Labels
from segments.criteria.nodes import Condition, EventNode, Group, Rollout, SegmentRef, StaticSegment
from segments.criteria.types import VisitorDocument

_ENGLISH = Labels.from_catalog(catalog=BUILTIN_FIELDS)


def explain(
    c: Compiled, doc: VisitorDocument, now: float | None, labels: Labels | None = None
) -> dict[str, Any]:
    words = labels or _ENGLISH
    node = c.node
    if isinstance(node, Group):
        kids = [explain(k, doc, now, words) for k in c.children]
        passed_n = sum(1 for k in kids if k["passed"])
        if node.kind == "all":
            passed = passed_n == len(kids)
        elif node.kind == "any":
            passed = passed_n > 0
        else:
            passed = passed_n == 0
        return {
            "path": node.path,
            "type": node.kind,
            "passed": passed,
            "summary": words.group(node.kind, len(kids), passed_n),
            "children": kids,
        }
    passed = bool(c.fn(doc, now))
    if isinstance(node, Condition):
        actual = _raw_getter(node.root, node.keys)(doc)
        return {
            "path": node.path,
            "type": "condition",
            "field": node.field,
            "op": node.op,
            "value": node.raw_value,
            "actual": actual,
            "passed": passed,
            "summary": words.condition(node.field, node.op, node.raw_value, actual),
            "field_label": words.field(node.field),
            "op_label": words.op(node.op),
            "value_label": words.value(node.field, node.op, node.raw_value),
            "actual_label": words.actual(node.field, actual),
        }
    if isinstance(node, EventNode):
        where = c.children[0].fn if c.children else None
        actual = event_counter(node, where)(doc, now)
        summary = words.event(node.name, node.count_op, node.count_value, node.within_days, actual)
        return {
            "path": node.path,
            "type": "event",
            "event": node.name,
            "actual": actual,
            "passed": passed,
            "summary": summary,
            "children": [],
        }
    if isinstance(node, SegmentRef):
        out = {
            "path": node.path,
            "type": "segment",
            "segment": node.key,
            "passed": passed,
            "summary": words.segment(node.key, isinstance(node.target, StaticSegment)),
        }
        if c.children:
            out["children"] = [explain(c.children[0], doc, now, words)]
        return out
    if isinstance(node, Rollout):
        return {
            "path": node.path,
            "type": "rollout",
            "passed": passed,
            "summary": words.rollout(node.percent, node.salt),
        }
    raise TypeError(node)  # pragma: no cover
