"""What do a site's segments say, and what do they compile to? Segment trees and the
`segments=` definitions the compiler resolves references with, the segments and fields a
tree references, compiling a tree (or a stored segment) against the site's catalog, the
compiled rules of a site's segments with the broken ones set aside, and a segment's history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import QuerySet

from segments.criteria import CriteriaError, Rule, StaticSegment, compile_criteria
from segments.criteria.catalog import normalize_fields
from segments.criteria.guards import precheck, recursion_guard
from segments.models import Field, Segment, SegmentKind, SegmentStatus, StaticMember
from segments.selectors.catalog import site_field_catalog
from tenancy.models import Site

logger = logging.getLogger(__name__)

# What compiling a stored tree may raise. A stored tree is data that may predate today's
# catalog or validation: CriteriaError says it is invalid (the guards report pathological
# size and nesting as one too); ValueError and TypeError cover a shape validation did not
# foresee. Callers that compile a site's stored segments set such a segment aside as broken.
STORED_TREE_ERRORS: tuple[type[Exception], ...] = (CriteriaError, ValueError, TypeError)


def _tree_strings(tree: Any, key: str) -> set[str]:
    """The text values of `key` in every object of a JSON tree (walked without recursion)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get(key), str):
                found.add(node[key])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def criteria_segment_refs(*, tree: Any) -> set[str]:
    """Keys of the segments a tree references directly (`{"segment": key}` nodes)."""
    return _tree_strings(tree, "segment")


def criteria_field_refs(*, tree: Any) -> set[str]:
    """Paths of the fields a tree's conditions test (`{"field": path}` nodes)."""
    return _tree_strings(tree, "field")


def segment_tree(*, segment: Segment) -> dict:
    """The tree that decides membership: the criteria, or a reference to the static list."""
    if segment.kind == SegmentKind.STATIC:
        return {"segment": segment.key}
    return segment.criteria if isinstance(segment.criteria, dict) else {}


def site_segment_definitions(
    *,
    site: Site | int,
    tree: Any = None,
    overrides: Mapping[str, Any] | None = None,
    with_members: bool = True,
) -> dict[str, Any]:
    """The `segments=` mapping for compile_criteria: key -> criteria tree (dynamic) or
    StaticSegment (static). With `tree`, only the segments it references (transitively).
    `overrides` replaces trees by key (a segment being edited). Without `with_members`,
    static segments carry no user ids: enough for validation and SQL (which reads
    StaticMember by segment id), not for matches()."""
    site_id = site.pk if isinstance(site, Site) else site
    overrides = dict(overrides or {})
    rows = {
        r["key"]: r
        for r in Segment.objects.filter(site_id=site_id).values("id", "key", "kind", "criteria")
    }
    if tree is None:
        needed = set(rows) | set(overrides)
    else:
        needed, todo = set(), list(criteria_segment_refs(tree=tree))
        while todo:
            key = todo.pop()
            if key in needed:
                continue
            needed.add(key)
            if key in overrides:
                todo.extend(criteria_segment_refs(tree=overrides[key]))
            elif key in rows and rows[key]["kind"] == SegmentKind.DYNAMIC:
                todo.extend(criteria_segment_refs(tree=rows[key]["criteria"]))
    static_ids = {
        rows[k]["id"]: k
        for k in needed
        if k in rows and k not in overrides and rows[k]["kind"] == SegmentKind.STATIC
    }
    members: dict[str, set[str]] = {k: set() for k in static_ids.values()}
    if static_ids and with_members:
        for segment_id, user_id in StaticMember.objects.filter(
            segment_id__in=list(static_ids)
        ).values_list("segment_id", "user_id"):
            members[static_ids[segment_id]].add(user_id)
    out: dict[str, Any] = {}
    for key in needed:
        if key in overrides:
            out[key] = overrides[key]
        elif key in rows:
            row = rows[key]
            if row["kind"] == SegmentKind.STATIC:
                out[key] = StaticSegment(
                    key=key,
                    user_ids=frozenset(members[key]),
                    site_id=site_id,
                    segment_id=row["id"],
                )
            else:
                out[key] = row["criteria"] or {}
    return out


def criteria_compile(
    *,
    site: Site | int,
    tree: Any,
    segment_key: str | None = None,
    now: datetime | None = None,
    catalog: Iterable[Field] | None = None,
    in_memory: bool = False,
) -> Rule:
    """Compile a tree against the site's catalog and segments. Raises CriteriaError.

    Pass `in_memory=True` when the rule will call matches()/explain() (loads static members);
    counts and other SQL uses do not need them."""
    precheck(tree)
    overrides = {segment_key: tree} if segment_key else None
    definitions = site_segment_definitions(
        site=site, tree=tree, overrides=overrides, with_members=in_memory
    )
    with recursion_guard():
        return compile_criteria(
            tree,
            fields=list(catalog) if catalog is not None else site_field_catalog(site=site),
            segments=definitions,
            now=now,
            segment_key=segment_key,
        )


def criteria_errors(*, error: CriteriaError, prefix: str = "criteria") -> list[dict[str, str]]:
    """[{path, message}] for every error, paths like `criteria.all[0].value`."""
    out = []
    for err in error.errors:
        rest = err.path[1:] if err.path.startswith("$") else f".{err.path}"
        out.append(
            {"path": f"{prefix}{rest}" if prefix else rest.lstrip("."), "message": err.message}
        )
    return out


def _own_key(segment: Segment) -> str | None:
    # A static segment's tree is a reference to itself, which must not count as a cycle.
    return None if segment.kind == SegmentKind.STATIC else segment.key


def segment_rule(*, segment: Segment, now: datetime | None = None) -> Rule:
    """A stored segment compiled for SQL (counts, members, snapshots). Raises CriteriaError."""
    return criteria_compile(
        site=segment.site_id,
        tree=segment_tree(segment=segment),
        segment_key=_own_key(segment),
        now=now,
    )


class SiteSegmentRules(NamedTuple):
    """A site's segments compiled for in-memory evaluation."""

    rules: dict[str, Rule]  # key -> compiled rule
    broken: dict[str, str]  # key -> why it does not compile ("unknown segment" if missing)


def site_segment_rules(
    *,
    site: Site | int,
    keys: Iterable[str] | None = None,
    now: datetime | None = None,
) -> SiteSegmentRules:
    """Compile a site's segments for matches()/explain(): the active ones, or `keys`.

    A segment whose stored criteria no longer compile (a field removed or retyped since, a
    tree written around validation) is reported in `broken` with the reason, never raised
    (see STORED_TREE_ERRORS): one bad segment must not break delivery or a preview. Its
    static references carry their members. `now` fixes the clock of relative operators.
    """
    site_id = site.pk if isinstance(site, Site) else site
    if keys is None:
        keys = Segment.objects.filter(site_id=site_id, status=SegmentStatus.ACTIVE).values_list(
            "key", flat=True
        )
    wanted = sorted(set(keys))
    if not wanted:
        return SiteSegmentRules(rules={}, broken={})
    catalog = normalize_fields(site_field_catalog(site=site_id))  # once, not per rule
    definitions = site_segment_definitions(site=site_id)
    rules: dict[str, Rule] = {}
    broken: dict[str, str] = {}
    for key in wanted:
        definition = definitions.get(key)
        if definition is None:
            broken[key] = "unknown segment"
            continue
        tree, own_key = definition, key
        if isinstance(definition, StaticSegment):  # membership resolves through a reference
            tree, own_key = {"segment": key}, None
        try:
            precheck(tree)
            with recursion_guard():
                rules[key] = compile_criteria(
                    tree, fields=catalog, segments=definitions, now=now, segment_key=own_key
                )
        except STORED_TREE_ERRORS as exc:
            broken[key] = str(exc)
            logger.warning("segment %s of site %s does not compile: %s", key, site_id, exc)
    return SiteSegmentRules(rules=rules, broken=broken)


def segment_revisions(*, segment: Segment) -> QuerySet:
    return segment.revisions.select_related("changed_by")
