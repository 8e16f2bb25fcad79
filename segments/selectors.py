"""Reads for segments: the site's catalog and segment definitions for the compiler, counts,
members, exports, previews and which segments a visitor document matches."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import JSONField, OuterRef, QuerySet, Subquery

from segments.criteria import BUILTIN_FIELDS, CriteriaError, StaticSegment, compile_criteria
from segments.documents import merge_documents, profile_document
from segments.models import Field, Profile, Segment, SegmentKind, SegmentStatus, StaticMember
from tenancy.models import Site

# Hard guards before the engine sees a tree (the engine's own limits are stricter and
# give precise paths: depth 10, 500 nodes). These stop pathological input cheaply.
MAX_CRITERIA_BYTES = 256 * 1024
HARD_MAX_DEPTH = 40
HARD_MAX_CONTAINERS = 20_000
MAX_SAMPLE = 50
EXPORT_CHUNK = 2000


# --- the catalog ---------------------------------------------------------------------------


def builtin_field_specs() -> list[dict[str, Any]]:
    """The engine's built-in catalog as dicts: path, type, label, help_text, allowed_values."""
    return [
        {
            "path": path,
            "type": spec["type"],
            "label": spec["label"][:120],
            "help_text": spec["help_text"][:500],
            "allowed_values": list(spec["allowed_values"]),
        }
        for path, spec in BUILTIN_FIELDS.items()
    ]


def builtin_field_paths() -> frozenset[str]:
    return frozenset(BUILTIN_FIELDS)


def site_field_catalog(*, site: Site | int) -> list[Field]:
    """The fields to compile a site's criteria with: its rows, plus any built-in it lacks
    (as unsaved Field objects, so a site that was never seeded still works)."""
    site_id = site.pk if isinstance(site, Site) else site
    rows = list(Field.objects.filter(site_id=site_id))
    have = {f.path for f in rows}
    for spec in builtin_field_specs():
        if spec["path"] not in have:
            rows.append(Field(site_id=site_id, builtin=True, **spec))
    return rows


# --- criteria compilation --------------------------------------------------------------------


def criteria_precheck(tree: Any) -> None:
    """Reject shapes no valid tree has, without recursion, before the engine walks them."""
    if not isinstance(tree, dict):
        raise CriteriaError("$", 'Criteria must be a JSON object, e.g. {"all": []}.')
    stack: list[tuple[Any, int]] = [(tree, 1)]
    containers = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        containers += 1
        if depth > HARD_MAX_DEPTH:
            raise CriteriaError(
                "$", f"The criteria are nested more than {HARD_MAX_DEPTH} levels deep."
            )
        if containers > HARD_MAX_CONTAINERS:
            raise CriteriaError("$", "The criteria are far too large.")
        stack.extend((child, depth + 1) for child in children)
    size = len(json.dumps(tree, default=str))
    if size > MAX_CRITERIA_BYTES:
        raise CriteriaError(
            "$", f"The criteria are {size // 1024} KB; at most {MAX_CRITERIA_BYTES // 1024} KB."
        )


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


def criteria_segment_refs(tree: Any) -> set[str]:
    """Keys of the segments a tree references directly (`{"segment": key}` nodes)."""
    return _tree_strings(tree, "segment")


def criteria_field_refs(tree: Any) -> set[str]:
    """Paths of the fields a tree's conditions test (`{"field": path}` nodes)."""
    return _tree_strings(tree, "field")


def segment_tree(segment: Segment) -> dict:
    """The tree that decides membership: the criteria, or a reference to the static list."""
    if segment.kind == SegmentKind.STATIC:
        return {"segment": segment.key}
    return segment.criteria if isinstance(segment.criteria, dict) else {}


def site_segment_definitions(
    site: Site | int,
    *,
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
        needed, todo = set(), list(criteria_segment_refs(tree))
        while todo:
            key = todo.pop()
            if key in needed:
                continue
            needed.add(key)
            if key in overrides:
                todo.extend(criteria_segment_refs(overrides[key]))
            elif key in rows and rows[key]["kind"] == SegmentKind.DYNAMIC:
                todo.extend(criteria_segment_refs(rows[key]["criteria"]))
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
) -> Any:
    """Compile a tree against the site's catalog and segments. Raises CriteriaError.

    Pass `in_memory=True` when the rule will call matches()/explain() (loads static members);
    counts and other SQL uses do not need them."""
    criteria_precheck(tree)
    overrides = {segment_key: tree} if segment_key else None
    definitions = site_segment_definitions(
        site, tree=tree, overrides=overrides, with_members=in_memory
    )
    try:
        return compile_criteria(
            tree,
            fields=list(catalog) if catalog is not None else site_field_catalog(site=site),
            segments=definitions,
            now=now,
            segment_key=segment_key,
        )
    except RecursionError as exc:
        raise CriteriaError("$", "The criteria are nested too deeply.") from exc


def criteria_errors(exc: CriteriaError, *, prefix: str = "criteria") -> list[dict[str, str]]:
    """[{path, message}] for every error, paths like `criteria.all[0].value`."""
    out = []
    for err in exc.errors:
        rest = err.path[1:] if err.path.startswith("$") else f".{err.path}"
        out.append(
            {"path": f"{prefix}{rest}" if prefix else rest.lstrip("."), "message": err.message}
        )
    return out


def _own_key(segment: Segment) -> str | None:
    # A static segment's tree is a reference to itself, which must not count as a cycle.
    return None if segment.kind == SegmentKind.STATIC else segment.key


def segment_rule(segment: Segment, *, now: datetime | None = None) -> Any:
    return criteria_compile(
        site=segment.site_id, tree=segment_tree(segment), segment_key=_own_key(segment), now=now
    )


# --- membership --------------------------------------------------------------------------------


def _matching_profiles(*, site: Site | int, rule: Any) -> QuerySet[Profile]:
    site_id = site.pk if isinstance(site, Site) else site
    return Profile.objects.filter(site_id=site_id).filter(rule.to_q())


def segment_count(*, segment: Segment) -> int:
    """Exact number of members: matching stored profiles (dynamic), listed user ids (static)."""
    if segment.kind == SegmentKind.STATIC:
        return StaticMember.objects.filter(segment=segment).count()
    return _matching_profiles(site=segment.site_id, rule=segment_rule(segment)).count()


MEMBER_COLUMNS = ("user_id", "traits", "last_seen", "visit_count")


def segment_members(*, segment: Segment) -> QuerySet:
    """Members as rows {user_id, traits, last_seen, visit_count}, ordered by user_id.

    A static segment lists its user ids, with traits where a profile is stored."""
    if segment.kind == SegmentKind.STATIC:
        profiles = Profile.objects.filter(site_id=segment.site_id, user_id=OuterRef("user_id"))
        return (
            StaticMember.objects.filter(segment=segment)
            .annotate(
                traits=Subquery(profiles.values("traits")[:1], output_field=JSONField()),
                last_seen=Subquery(profiles.values("last_seen")[:1]),
                visit_count=Subquery(profiles.values("visit_count")[:1]),
            )
            .order_by("user_id")
            .values(*MEMBER_COLUMNS)
        )
    return (
        _matching_profiles(site=segment.site_id, rule=segment_rule(segment))
        .order_by("user_id")
        .values(*MEMBER_COLUMNS)
    )


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    # Spreadsheets run cells that start like a formula: neutralise them.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def segment_export_csv(*, segment: Segment) -> Iterator[str]:
    """CSV lines: user_id, one column per profile field of the catalog, other traits as JSON."""
    trait_names = sorted(
        f.path.split(".", 1)[1]
        for f in site_field_catalog(site=segment.site_id)
        if f.path.startswith("profile.")
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    writer.writerow(["user_id", *trait_names, "other_traits"])
    yield flush()
    known = set(trait_names)
    for index, row in enumerate(segment_members(segment=segment).iterator(chunk_size=EXPORT_CHUNK)):
        traits = row["traits"] if isinstance(row["traits"], dict) else {}
        other = {k: v for k, v in traits.items() if k not in known}
        writer.writerow(
            [
                _csv_cell(row["user_id"]),
                *(_csv_cell(traits.get(name)) for name in trait_names),
                _csv_cell(other) if other else "",
            ]
        )
        if index % 200 == 199:
            yield flush()
    yield flush()


@dataclass
class Audience:
    count: int
    sample: list[dict[str, Any]] = field(default_factory=list)


def criteria_audience(
    *, site: Site, criteria: Any, sample: int = 10, segment_key: str | None = None
) -> Audience:
    """How many stored profiles of the site match, and a few of them (most recently seen).

    `segment_key`: the segment being edited (its rollouts' default salt)."""
    rule = criteria_compile(site=site, tree=criteria, segment_key=segment_key or None)
    profiles = _matching_profiles(site=site, rule=rule)
    count = profiles.count()
    rows: list[dict[str, Any]] = []
    if sample and count:
        rows = list(
            profiles.order_by("-last_seen", "-pk").values("user_id", "traits")[
                : min(sample, MAX_SAMPLE)
            ]
        )
    return Audience(count=count, sample=rows)


def profile_for_user_id(*, site: Site | int, user_id: str) -> Profile | None:
    site_id = site.pk if isinstance(site, Site) else site
    return Profile.objects.filter(site_id=site_id, user_id=user_id).first()


@dataclass
class Preview:
    matches: bool
    explanation: Any
    document: dict[str, Any]


def criteria_preview(
    *,
    site: Site,
    criteria: Any,
    document: dict[str, Any] | None = None,
    user_id: str | None = None,
    segment_key: str | None = None,
) -> Preview:
    """Does a visitor document (or a stored profile's) match? With the engine's explanation."""
    rule = criteria_compile(
        site=site, tree=criteria, in_memory=True, segment_key=segment_key or None
    )
    if user_id:
        profile = profile_for_user_id(site=site, user_id=user_id)
        if profile is None:
            raise Profile.DoesNotExist(f"No stored profile has user_id {user_id!r}.")
        doc = profile_document(profile)
        if document:  # inline values override stored ones, as in a decide request
            doc = merge_documents(doc, document)
    else:
        doc = document or {}
    return Preview(matches=bool(rule.matches(doc)), explanation=rule.explain(doc), document=doc)


def segments_matching(
    site: Site | int, document: dict[str, Any], *, now: datetime | None = None
) -> list[str]:
    """Keys of the site's active segments that the visitor document matches (sorted)."""
    site_id = site.pk if isinstance(site, Site) else site
    active = list(
        Segment.objects.filter(site_id=site_id, status=SegmentStatus.ACTIVE).only(
            "id", "key", "kind", "criteria", "site_id"
        )
    )
    if not active:
        return []
    catalog = site_field_catalog(site=site_id)
    definitions = site_segment_definitions(site_id)
    keys = []
    for segment in active:
        try:
            rule = compile_criteria(
                segment_tree(segment),
                fields=catalog,
                segments=definitions,
                now=now,
                segment_key=_own_key(segment),
            )
        except (CriteriaError, RecursionError):
            continue  # a segment broken by a later catalog change matches no one
        if rule.matches(document):
            keys.append(segment.key)
    return sorted(keys)


def segment_revisions(*, segment: Segment) -> QuerySet:
    return segment.revisions.select_related("changed_by")
