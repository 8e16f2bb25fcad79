"""Segment sizes for lists: exact counts, cached for a few minutes, so a page of segments does
not run one counting query per row on every view."""

from __future__ import annotations

from typing import Literal

from django.core.cache import cache

from segments.criteria import CriteriaError
from segments.models import Segment
from segments.selectors.members import segment_count

AUDIENCE_CACHE_SECONDS = 300

AudienceSize = int | Literal["invalid"] | None  # None: not counted yet


def _cache_key(segment: Segment) -> str:
    # A saved change (criteria, status, members upload) gives the segment a new updated_at.
    return f"segment-size:{segment.pk}:{segment.updated_at.timestamp()}"


def segment_size_cached(*, segment: Segment, compute: bool) -> tuple[AudienceSize, bool]:
    """(size, whether it was computed now); None when not cached and `compute` is False."""
    key = _cache_key(segment)
    size = cache.get(key)
    if size is not None or not compute:
        return size, False
    try:
        size = segment_count(segment=segment)
    except CriteriaError:
        size = "invalid"
    cache.set(key, size, AUDIENCE_CACHE_SECONDS)
    return size, True
