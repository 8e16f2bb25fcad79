"""Tree-shaped explanations for previews: which nodes passed, with readable summaries."""

from __future__ import annotations

from typing import Any

from segments.criteria.compile_memory import Compiled, _raw_getter, event_counter
from segments.criteria.nodes import Condition, EventNode, Group, Rollout, SegmentRef, StaticSegment
from segments.criteria.operators import LABELS
from segments.criteria.types import VisitorDocument


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple, set, frozenset)):
        items = list(v)
        shown = ", ".join(_fmt(x) for x in items[:5])
        return f"[{shown}{', …' if len(items) > 5 else ''}]"
    return str(v)


def explain(c: Compiled, doc: VisitorDocument, now: float | None) -> dict[str, Any]:
    node = c.node
    if isinstance(node, Group):
        kids = [explain(k, doc, now) for k in c.children]
        passed_n = sum(1 for k in kids if k["passed"])
        if node.kind == "all":
            passed = passed_n == len(kids)
            summary = f"all of {len(kids)} rules must pass: {passed_n} passed"
        elif node.kind == "any":
            passed = passed_n > 0
            summary = f"at least one of {len(kids)} rules must pass: {passed_n} passed"
        else:
            passed = passed_n == 0
            summary = f"none of {len(kids)} rules may pass: {passed_n} passed"
        return {
            "path": node.path,
            "type": node.kind,
            "passed": passed,
            "summary": summary,
            "children": kids,
        }
    passed = bool(c.fn(doc, now))
    if isinstance(node, Condition):
        actual = _raw_getter(node.root, node.keys)(doc)
        value = "" if node.raw_value is None else f" {_fmt(node.raw_value)}"
        shown = "missing" if actual is None else _fmt(actual)
        return {
            "path": node.path,
            "type": "condition",
            "field": node.field,
            "op": node.op,
            "value": node.raw_value,
            "actual": actual,
            "passed": passed,
            "summary": f"{node.field} {LABELS.get(node.op, node.op)}{value} (actual: {shown})",
        }
    if isinstance(node, EventNode):
        window = f" in the last {node.within_days} days" if node.within_days is not None else ""
        where = c.children[0].fn if c.children else None
        actual = event_counter(node, where)(doc, now)
        return {
            "path": node.path,
            "type": "event",
            "event": node.name,
            "actual": actual,
            "passed": passed,
            "summary": f"did '{node.name}' {node.count_op} {_fmt(node.count_value)} times{window}"
            f" (actual: {actual})",
            "children": [],
        }
    if isinstance(node, SegmentRef):
        kind = "static segment" if isinstance(node.target, StaticSegment) else "segment"
        out = {
            "path": node.path,
            "type": "segment",
            "segment": node.key,
            "passed": passed,
            "summary": f"member of {kind} '{node.key}'",
        }
        if c.children:
            out["children"] = [explain(c.children[0], doc, now)]
        return out
    if isinstance(node, Rollout):
        return {
            "path": node.path,
            "type": "rollout",
            "passed": passed,
            "summary": f"in the {node.percent:g}% rollout '{node.salt}'",
        }
    raise TypeError(node)  # pragma: no cover
