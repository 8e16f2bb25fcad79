"""Plain words for suggestions: a criteria tree as one sentence, and how a group differs
from the average ("visit 3x more often than average; mostly Mobile").

Pure (no Django). Field names, operators, operands and event counts come from
`segments.criteria.labels.Labels` (the words explanations use); this module only joins
them into sentences without the "(actual: …)" that explanations add. A `Translator`
(`django.utils.translation` itself) translates; literal `tr.gettext(...)` calls are
extracted by makemessages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segments.criteria.labels import ENGLISH, Labels, Translator, value_label


def describe_tree(tree: Any, labels: Labels) -> str:
    """The tree as a sentence: "did “purchase” at least 4 times in the last 90 days and
    Last seen is within the last 14 days"."""
    return _node(tree, labels, top=True)


def _node(node: Any, labels: Labels, *, top: bool = False) -> str:
    tr = labels.tr
    if not isinstance(node, Mapping):
        return str(node)
    for kind in ("all", "any", "none"):
        if kind in node:
            parts = [_node(child, labels) for child in node[kind]]
            if kind == "all":
                if not parts:
                    return tr.gettext("everyone")
                text = _join(parts, tr.gettext("and"))
            elif kind == "any":
                if not parts:
                    return tr.gettext("no one")
                text = _join(parts, tr.gettext("or"))
            else:
                return tr.gettext("none of: %(rules)s") % {"rules": "; ".join(parts)}
            return text if top or len(parts) == 1 else f"({text})"
    if "event" in node:
        return _event(node, labels)
    if "field" in node:
        path, op = node["field"], node.get("op", "")
        words = (labels.field(path), labels.op(op), labels.value(path, op, node.get("value")))
        return " ".join(w for w in words if w)
    if "segment" in node:
        return labels.segment(str(node["segment"]), False)
    if "rollout" in node:
        return labels.rollout(float(node["rollout"]), str(node.get("salt", "")))
    return str(node)


def _join(parts: list[str], word: str) -> str:
    return f" {word} ".join(parts)


def _event(node: Mapping[str, Any], labels: Labels) -> str:
    tr = labels.tr
    count = node.get("count") or {"op": "gte", "value": 1}
    days = node.get("within_days")
    name = node["event"]
    if count.get("op") == "eq" and count.get("value") == 0:
        if days is None:
            return tr.gettext("never did “%(event)s”") % {"event": name}
        return tr.ngettext(
            "did not do “%(event)s” in the last day",
            "did not do “%(event)s” in the last %(days)s days",
            days if isinstance(days, int) else 2,
        ) % {"event": name, "days": days}
    times = labels.times(count.get("op", "gte"), count.get("value", 1))
    if days is None:
        text = tr.gettext("did “%(event)s” %(times)s")
    else:
        text = tr.ngettext(
            "did “%(event)s” %(times)s in the last day",
            "did “%(event)s” %(times)s in the last %(days)s days",
            days if isinstance(days, int) else 2,
        )
    return text % {"event": name, "times": times, "days": days}


def _number(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _ratio(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def describe_fact(fact: Mapping[str, Any], labels: Labels) -> str:
    """One way a group differs from everyone, from a fact of `clusters.cluster_facts`."""
    tr = labels.tr
    kind = fact.get("kind")
    mine, everyone = float(fact.get("cluster", 0.0)), float(fact.get("overall", 0.0))
    if kind == "mostly":
        return tr.gettext("mostly %(value)s (%(share)s%%)") % {
            "value": value_label(fact.get("value"), tr),
            "share": f"{100 * mine:.0f}",
        }
    if kind in ("visits", "event"):
        event = fact.get("event", "")
        if kind == "event" and mine == 0:
            return tr.gettext("never did “%(event)s” in the window (average: %(avg)s)") % {
                "event": event,
                "avg": _number(everyone),
            }
        if everyone > 0 and mine >= everyone:
            ratio = _ratio(mine / everyone)
            if kind == "visits":
                return tr.gettext("visit %(ratio)sx more often than average") % {"ratio": ratio}
            return tr.gettext("did “%(event)s” %(ratio)sx more often than average") % {
                "event": event,
                "ratio": ratio,
            }
        ratio = _ratio(everyone / mine) if mine > 0 else "∞"
        if kind == "visits":
            return tr.gettext("visit %(ratio)sx less often than average") % {"ratio": ratio}
        return tr.gettext("did “%(event)s” %(ratio)sx less often than average") % {
            "event": event,
            "ratio": ratio,
        }
    if kind == "recency":
        return tr.gettext("last seen %(days)s days ago on average (everyone: %(all)s)") % {
            "days": _number(mine),
            "all": _number(everyone),
        }
    if kind == "tenure":
        return tr.gettext("known for %(days)s days on average (everyone: %(all)s)") % {
            "days": _number(mine),
            "all": _number(everyone),
        }
    path = str(fact.get("path", ""))
    return tr.gettext("%(field)s %(value)s on average (everyone: %(all)s)") % {
        "field": labels.field(path),
        "value": _number(mine),
        "all": _number(everyone),
    }


def describe_facts(facts: Sequence[Mapping[str, Any]], labels: Labels) -> str:
    return "; ".join(describe_fact(f, labels) for f in facts)


def english_labels(fields: Mapping[str, tuple[str, str]] | None = None) -> Labels:
    return Labels(translator=ENGLISH, fields=fields)


__all__ = ["Translator", "describe_fact", "describe_facts", "describe_tree", "english_labels"]
