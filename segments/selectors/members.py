"""Who is in a segment? The stored profiles a compiled rule selects, a segment's exact
member count, its members as rows and as a CSV export, and the stored profile of one user
id. Dynamic segments are answered in SQL (`rule.to_q()`), static ones from their list."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import JSONField, OuterRef, QuerySet, Subquery

from segments.criteria import Rule
from segments.models import Profile, Segment, SegmentKind, StaticMember
from segments.selectors.catalog import site_field_catalog
from segments.selectors.definitions import segment_rule
from tenancy.models import Site

EXPORT_CHUNK = 2000
MEMBER_COLUMNS = ("user_id", "traits", "last_seen", "visit_count")


def matching_profiles(*, site: Site | int, rule: Rule) -> QuerySet[Profile]:
    """The site's stored profiles that the rule selects."""
    site_id = site.pk if isinstance(site, Site) else site
    return Profile.objects.filter(site_id=site_id).filter(rule.to_q())


def segment_count(*, segment: Segment) -> int:
    """Exact number of members: matching stored profiles (dynamic), listed user ids (static)."""
    if segment.kind == SegmentKind.STATIC:
        return StaticMember.objects.filter(segment=segment).count()
    return matching_profiles(site=segment.site_id, rule=segment_rule(segment=segment)).count()


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
        matching_profiles(site=segment.site_id, rule=segment_rule(segment=segment))
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


def segment_export_csv(
    *, segment: Segment, on_rows: Callable[[int], None] | None = None
) -> Iterator[str]:
    """CSV lines: user_id, one column per profile field of the catalog, other traits as JSON.

    `on_rows(n)` is told the rows written so far at each flush (an export job's progress)."""
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
            if on_rows is not None:
                on_rows(index + 1)
            yield flush()
    yield flush()


def profile_for_user_id(*, site: Site | int, user_id: str) -> Profile | None:
    site_id = site.pk if isinstance(site, Site) else site
    return Profile.objects.filter(site_id=site_id, user_id=user_id).first()
