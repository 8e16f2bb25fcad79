"""Serializers of the content management API: the request and response shapes only; the
services in `content.services` do the work.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from content.models import (
    AuditEntry,
    ContentVariant,
    DesignSchema,
    Placement,
    PublishSchedule,
    Screen,
    ScreenVariant,
)
from content.models.revisions import Revision
from content.models.schedules import ScheduleAction
from content.models.slots import PlacementKind
from segments.models import Segment
from tenancy.api.scoping import UserSitesField
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user


class _UserScopedField(serializers.PrimaryKeyRelatedField):
    """A foreign key limited to objects of sites the requesting user may read."""

    site_lookup = "site_id__in"

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        ids = site_ids_for_user(request.user, Perm.VIEW) if request else []
        return self.queryset.filter(**{self.site_lookup: ids})


@extend_schema_field(OpenApiTypes.ANY)
class BodyField(serializers.Field):
    """Text for HTML/text placements; JSON placements and images also accept a JSON value."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        return json.dumps(data, indent=2, ensure_ascii=False)

    def to_representation(self, value: str) -> Any:
        return value  # JSON bodies are parsed by ContentVariantSerializer.to_representation


class ContentTranslationSerializer(serializers.Serializer):
    body = BodyField(help_text="Like the variant's body, in this language.")


class ScreenTranslationSerializer(serializers.Serializer):
    design = serializers.JSONField(help_text="Like the variant's design, in this language.")


class TranslationsField(serializers.DictField):
    """A variant's translations keyed by BCP 47 tag; writing replaces them all."""

    def get_attribute(self, instance: ContentVariant | ScreenVariant) -> dict[str, Any]:
        return {t.language: t for t in instance.translations.all()}


TRANSLATIONS_HELP = (
    "Versions in other languages than the site's default, keyed by BCP 47 tag "
    "(fr, fr-CA). Writing it replaces every translation; errors come at "
    "translations.<language>.<path>."
)


class VariantFields(serializers.ModelSerializer):
    segment = _UserScopedField(
        queryset=Segment.objects.all(), allow_null=True, required=False, default=None
    )
    segment_key = serializers.CharField(source="segment.key", read_only=True, default=None)
    is_default = serializers.BooleanField(read_only=True)

    common = [
        "id",
        "key",
        "name",
        "segment",
        "segment_key",
        "is_default",
        "priority",
        "starts_at",
        "ends_at",
        "created_at",
        "updated_at",
    ]


def _parsed(body: str) -> Any:
    with contextlib.suppress(ValueError):
        return json.loads(body)
    return body


class ContentVariantSerializer(VariantFields):
    placement = _UserScopedField(queryset=Placement.objects.all())
    body = BodyField(required=False, default="")
    translations = TranslationsField(
        child=ContentTranslationSerializer(), required=False, help_text=TRANSLATIONS_HELP
    )

    class Meta:
        model = ContentVariant
        fields = [
            *VariantFields.common[:1],
            "placement",
            *VariantFields.common[1:],
            "body",
            "translations",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, instance: ContentVariant) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.placement.kind in (PlacementKind.JSON, PlacementKind.IMAGE):
            data["body"] = _parsed(instance.body)
            for translation in data.get("translations", {}).values():
                translation["body"] = _parsed(translation["body"])
        return data


class ScreenVariantSerializer(VariantFields):
    screen = _UserScopedField(queryset=Screen.objects.all())
    design = serializers.JSONField()
    translations = TranslationsField(
        child=ScreenTranslationSerializer(), required=False, help_text=TRANSLATIONS_HELP
    )

    class Meta:
        model = ScreenVariant
        fields = [
            *VariantFields.common[:1],
            "screen",
            *VariantFields.common[1:],
            "design",
            "translations",
        ]
        read_only_fields = ["created_at", "updated_at"]


class _NestedContentVariant(ContentVariantSerializer):
    class Meta(ContentVariantSerializer.Meta):
        fields = [f for f in ContentVariantSerializer.Meta.fields if f != "placement"]


class _NestedScreenVariant(ScreenVariantSerializer):
    class Meta(ScreenVariantSerializer.Meta):
        fields = [f for f in ScreenVariantSerializer.Meta.fields if f != "screen"]


class SlotFields(serializers.ModelSerializer):
    site = UserSitesField()
    is_live = serializers.BooleanField(read_only=True)
    live_revision = serializers.IntegerField(
        source="live_revision.number",
        read_only=True,
        default=None,
        help_text="Number of the live revision.",
    )
    common = [
        "id",
        "site",
        "key",
        "name",
        "description",
        "is_live",
        "live_revision",
        "created_at",
        "updated_at",
    ]


class PlacementSerializer(SlotFields):
    variants = _NestedContentVariant(many=True, read_only=True)

    class Meta:
        model = Placement
        fields = [*SlotFields.common, "kind", "json_schema", "variants"]
        read_only_fields = ["created_at", "updated_at"]


class ScreenSerializer(SlotFields):
    variants = _NestedScreenVariant(many=True, read_only=True)

    class Meta:
        model = Screen
        fields = [*SlotFields.common, "variants"]
        read_only_fields = ["created_at", "updated_at"]


class RevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    note = serializers.CharField()
    restored_from = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.get_username", default=None)
    is_live = serializers.SerializerMethodField()

    def get_is_live(self, revision: Revision) -> bool:
        return revision.parent.live_revision_id == revision.pk


class RevisionDetailSerializer(RevisionSerializer):
    snapshot = serializers.JSONField()
    diff = serializers.CharField(help_text="Unified diff from this revision to `against`.")
    against = serializers.CharField()


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class RollbackSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=1, help_text="The revision number to restore.")


class ScheduleRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ScheduleAction.choices)
    run_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class PublishScheduleSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.get_username", default=None, read_only=True
    )

    class Meta:
        model = PublishSchedule
        fields = [
            "id",
            "site",
            "placement",
            "screen",
            "action",
            "run_at",
            "note",
            "status",
            "created_by",
            "created_at",
            "executed_at",
            "error",
        ]
        read_only_fields = fields


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.get_username", default=None, read_only=True)
    action = serializers.CharField(
        read_only=True,
        help_text="publish, unpublish, rollback, schedule, schedule_cancel or delete",
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "site",
            "actor",
            "action",
            "slot_kind",
            "slot_key",
            "placement",
            "screen",
            "revision_number",
            "details",
            "created_at",
        ]
        read_only_fields = fields


class DesignSchemaSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    schema = serializers.JSONField()

    class Meta:
        model = DesignSchema
        fields = ["id", "site", "schema", "updated_at"]
        read_only_fields = ["updated_at"]
