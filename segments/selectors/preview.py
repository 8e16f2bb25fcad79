"""Whom would criteria select, and which segments is a visitor in? Answers for criteria
being edited (the builder's live audience count with a sample, and whether one visitor
document or stored profile matches, with the engine's explanation) and for a site's active
segments (the keys a visitor document matches, as content previews show them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import translation

from segments.criteria import Labels
from segments.criteria.types import VisitorDocument
from segments.documents import merge_documents, profile_document
from segments.models import Profile
from segments.selectors.catalog import site_field_catalog
from segments.selectors.definitions import criteria_compile, site_segment_rules
from segments.selectors.members import matching_profiles, profile_for_user_id
from tenancy.models import Site

MAX_SAMPLE = 50


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
    profiles = matching_profiles(site=site, rule=rule)
    count = profiles.count()
    rows: list[dict[str, Any]] = []
    if sample and count:
        rows = list(
            profiles.order_by("-last_seen", "-pk").values("user_id", "traits")[
                : min(sample, MAX_SAMPLE)
            ]
        )
    return Audience(count=count, sample=rows)


@dataclass
class Preview:
    matches: bool
    explanation: Any
    document: dict[str, Any]


def criteria_preview(
    *,
    site: Site,
    criteria: Any,
    document: VisitorDocument | None = None,
    user_id: str | None = None,
    segment_key: str | None = None,
) -> Preview:
    """Does a visitor document (or a stored profile's) match? With the engine's explanation."""
    catalog = site_field_catalog(site=site)
    rule = criteria_compile(
        site=site, tree=criteria, in_memory=True, segment_key=segment_key or None, catalog=catalog
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
    # The sentences in the request's language, with the site's own field labels.
    labels = Labels.from_catalog(catalog=catalog, translator=translation)
    explanation = rule.explain(doc, labels=labels)
    return Preview(matches=bool(rule.matches(doc)), explanation=explanation, document=doc)


def segments_matching(
    *, site: Site | int, document: VisitorDocument, now: datetime | None = None
) -> list[str]:
    """Keys of the site's active segments that the visitor document matches (sorted).

    A segment whose criteria no longer compile matches no one (see site_segment_rules)."""
    rules = site_segment_rules(site=site, now=now).rules
    # Rule by rule: generating one function for all the rules costs more than it saves
    # when they are compiled afresh for the single document they are evaluated on.
    return [key for key, rule in sorted(rules.items()) if rule.matches(document)]
