"""Writes of the segments app (reads live in segments.selectors and are re-exported here for
callers that look for them by the names of DESIGN.md)."""

from segments.selectors import (
    criteria_audience,
    criteria_preview,
    segment_count,
    segment_export_csv,
    segment_members,
    segments_matching,
    site_segment_definitions,
)
from segments.services.fields import (
    field_catalog_seed,
    field_create,
    field_delete,
    field_update,
    field_validate,
)
from segments.services.segments import (
    segment_archive,
    segment_create,
    segment_delete,
    segment_snapshot,
    segment_update,
    segment_validate_criteria,
)
from segments.services.static import UploadError, UploadResult, static_segment_upload_csv

__all__ = [
    "UploadError",
    "UploadResult",
    "criteria_audience",
    "criteria_preview",
    "field_catalog_seed",
    "field_create",
    "field_delete",
    "field_update",
    "field_validate",
    "segment_archive",
    "segment_count",
    "segment_create",
    "segment_delete",
    "segment_export_csv",
    "segment_members",
    "segment_snapshot",
    "segment_update",
    "segment_validate_criteria",
    "segments_matching",
    "site_segment_definitions",
    "static_segment_upload_csv",
]
