"""Query-string filters of the content management API's list endpoints (site, key, kind,
segment, status, dates…).
"""

from datetime import UTC

from django import forms
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters

from content.models import (
    AuditEntry,
    ContentVariant,
    Placement,
    PublishSchedule,
    Screen,
    ScreenVariant,
)
from tenancy.api.filtering import SiteScopedFilterSet


class _UTCDateTimeField(filter_fields.IsoDateTimeField):
    """An ISO 8601 date-time that exists in UTC (0001-01-01T00:00+01:00 does not: it would
    overflow when the query converts it)."""

    def to_python(self, value):  # type: ignore[no-untyped-def]
        parsed = super().to_python(value)
        if parsed is not None:
            try:
                parsed.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError("The date-time is out of range.", "invalid") from None
        return parsed


class UTCDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UTCDateTimeField


class _SlotFilter(SiteScopedFilterSet):
    is_live = filters.BooleanFilter(field_name="live_revision", lookup_expr="isnull", exclude=True)
    q = filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")


class PlacementFilter(_SlotFilter):
    class Meta:
        model = Placement
        fields = ["site", "key", "kind", "is_live", "q"]


class ScreenFilter(_SlotFilter):
    class Meta:
        model = Screen
        fields = ["site", "key", "is_live", "q"]


class _VariantFilter(SiteScopedFilterSet):
    is_default = filters.BooleanFilter(field_name="segment", lookup_expr="isnull")
    segment_key = filters.CharFilter(field_name="segment__key")


class ContentVariantFilter(_VariantFilter):
    site = filters.NumberFilter(field_name="placement__site")

    class Meta:
        model = ContentVariant
        fields = ["placement", "site", "segment", "segment_key", "is_default", "key"]


class ScreenVariantFilter(_VariantFilter):
    site = filters.NumberFilter(field_name="screen__site")

    class Meta:
        model = ScreenVariant
        fields = ["screen", "site", "segment", "segment_key", "is_default", "key"]


class PublishScheduleFilter(SiteScopedFilterSet):
    class Meta:
        model = PublishSchedule
        fields = ["site", "status", "action", "placement", "screen"]


class AuditEntryFilter(SiteScopedFilterSet):
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    # A user id, not a choice among all users: no oracle, and former members still match.
    actor = filters.NumberFilter(field_name="actor_id")

    class Meta:
        model = AuditEntry
        fields = [
            "site",
            "action",
            "slot_kind",
            "slot_key",
            "placement",
            "screen",
            "actor",
            "since",
        ]
