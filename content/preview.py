"""Previews for the admin: which variant of every placement and screen a visitor (or the
members of a segment) would get, and why, from the published configuration or from the drafts
as if published. Uses the same resolution as delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from content.published import PublishedSite
from content.resolution import resolve_all
from content.schemas import pretty
from content.selectors.configuration import draft_site_load, published_site_load
from segments.models import Segment, SegmentStatus
from segments.selectors.preview import segments_matching
from tenancy.models import Site

SOURCES = {
    "published": "Published (what visitors get now)",
    "draft": "Drafts (as if published now)",
}


@dataclass
class PreviewRow:
    slot_kind: str
    slot_key: str
    revision: int
    variant_key: str
    variant_name: str
    reason: dict
    content: str
    language: str = ""  # the language served (a translation's, or the site's default)
    content_kind: str = ""  # placements: html, text, image or json; screens: "design"
    raw: Any = None  # the body or design itself, for the admin's rendered preview

    @property
    def rendered_as(self) -> str:
        """How the admin shows it: a sandboxed iframe (html), or the visual mock."""
        return "iframe" if self.content_kind == "html" else "mock"

    @property
    def reason_text(self) -> str:
        if self.reason.get("kind") == "segment":
            return f"segment “{self.reason['segment']}”"
        return "default (no targeted variant matched)"


@dataclass
class PreviewResult:
    rows: list[PreviewRow]
    source: str
    now: datetime
    matched_segments: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None

    def mock_data(self) -> dict[str, Any]:
        """What the admin's visual mock draws (static/personalize/design-mock.js): the
        placements' content by key (a design's Placement blocks show them) and the designs."""
        return {
            "placements": {
                row.slot_key: {"content": {"kind": row.content_kind, "body": row.raw}}
                for row in self.rows
                if row.slot_kind == "placement"
            },
            "screens": {row.slot_key: row.raw for row in self.rows if row.slot_kind == "screen"},
        }


def _load(site: Site, source: str) -> tuple[PublishedSite, dict[str, str]]:
    if source == "draft":
        return draft_site_load(site_id=site.pk)
    return published_site_load(site_id=site.pk), {}


def _rows(
    published: PublishedSite, is_member: Callable[[str], bool], now: datetime, language: Any = None
) -> list[PreviewRow]:
    resolved = resolve_all(published, is_member, now, language=language)
    rows = []
    for group, kind in (("placements", "placement"), ("screens", "screen")):
        slots = published.placements if kind == "placement" else published.screens
        for key in sorted(resolved[group]):
            res = resolved[group][key]
            payload = res.payload
            content = payload.get("body") if kind == "placement" else payload.get("design")
            rows.append(
                PreviewRow(
                    slot_kind=kind,
                    slot_key=key,
                    revision=slots[key].revision,
                    variant_key=res.variant.key,
                    variant_name=res.variant.name,
                    reason=res.reason,
                    content=content if isinstance(content, str) else pretty(content),
                    language=res.language,
                    content_kind=payload.get("kind", "") if kind == "placement" else "design",
                    raw=content,
                )
            )
    return rows


def preview_visitor(
    *,
    site: Site,
    document: dict[str, Any],
    source: str = "published",
    now: datetime | None = None,
    language: str = "",
) -> PreviewResult:
    """`language` (a tag, or Accept-Language style) overrides the document's
    `context.language`; decide reads the same key."""
    now = now or timezone.now()
    if language:
        document = {
            **document,
            "context": {**(document.get("context") or {}), "language": language},
        }
    published, skipped = _load(site, source)
    matched = segments_matching(site=site, document=document, now=now)  # active segments only
    context = document.get("context")
    requested = context.get("language") if isinstance(context, dict) else None
    rows = _rows(published, set(matched).__contains__, now, requested)
    return PreviewResult(
        rows=rows,
        source=source,
        now=now,
        matched_segments=matched,
        skipped=skipped,
        document=document,
    )


def preview_segment(
    *, site: Site, segment: Segment, source: str = "published", now: datetime | None = None
) -> PreviewResult:
    """What members of `segment` see: resolution with only that segment considered matched."""
    now = now or timezone.now()
    published, skipped = _load(site, source)
    rows = _rows(published, lambda key: key == segment.key, now)
    warnings = []
    if segment.status != SegmentStatus.ACTIVE:
        warnings.append(
            f"“{segment.key}” is {segment.status}: live visitors never match it until it is active."
        )
    if segment.key not in published.segment_keys:
        warnings.append(
            f"No {source} variant targets “{segment.key}”: its members get the defaults."
        )
    return PreviewResult(
        rows=rows,
        source=source,
        now=now,
        matched_segments=[segment.key],
        skipped=skipped,
        warnings=warnings,
    )
