from __future__ import annotations

import json
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from segments.criteria.examples import example_tree
from segments.models import (
    Field,
    FieldType,
    Segment,
    SegmentJob,
    SegmentJobKind,
    SegmentJobStatus,
    SegmentKind,
    SegmentRevision,
    SegmentStatus,
)
from segments.selectors.jobs import segment_job_status
from segments.selectors.preview import MAX_SAMPLE
from segments.services.static import MAX_UPLOAD_BYTES, UPLOAD_MODES
from tenancy.api.scoping import UserSitesField

CRITERIA_HELP = (
    f"A criteria tree (see docs/criteria.md), e.g. {json.dumps(example_tree('college-landing'))}. "
    "Invalid trees are rejected with the JSON path of the offending node."
)


class FieldSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    type = serializers.ChoiceField(choices=FieldType.choices)
    allowed_values = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=1000, required=False
    )

    class Meta:
        model = Field
        fields = ["id", "site", "path", "type", "label", "help_text", "allowed_values", "builtin"]
        read_only_fields = ["builtin"]
        extra_kwargs = {"label": {"required": False}, "path": {"validators": []}}
        validators: list = []  # uniqueness is the service's job (with a clear message)


class FieldUpdateSerializer(FieldSerializer):
    """Path and site are fixed once a field exists (a PUT may repeat them; they are ignored)."""

    site = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(FieldSerializer.Meta):
        read_only_fields = ["site", "path", "builtin"]


class SegmentSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    criteria = serializers.JSONField(required=False, allow_null=True, help_text=CRITERIA_HELP)
    kind = serializers.ChoiceField(choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    status = serializers.ChoiceField(choices=SegmentStatus.choices, default=SegmentStatus.DRAFT)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Segment
        fields = [
            "id",
            "site",
            "key",
            "name",
            "description",
            "kind",
            "static_source",
            "snapshot_of",
            "criteria",
            "status",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "static_source",
            "snapshot_of",
            "created_by",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"key": {"validators": []}}
        validators: list = []


class SegmentUpdateSerializer(SegmentSerializer):
    """Site, key and kind are fixed once a segment exists."""

    site = serializers.PrimaryKeyRelatedField(read_only=True)
    kind = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=SegmentStatus.choices, required=False)

    class Meta(SegmentSerializer.Meta):
        read_only_fields = [*SegmentSerializer.Meta.read_only_fields, "key"]


class SegmentRevisionSerializer(serializers.ModelSerializer):
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = SegmentRevision
        fields = ["id", "changed_at", "changed_by", "summary", "name", "status", "criteria"]


@extend_schema_serializer(component_name="SegmentCount")
class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


@extend_schema_serializer(component_name="SegmentMember")
class MemberSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    traits = serializers.JSONField(allow_null=True)
    last_seen = serializers.DateTimeField(allow_null=True)
    visit_count = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="SegmentUpload")
class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=f"CSV of user ids: a `user_id` column (with a header row) or one id per line. "
        f"At most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
    )
    mode = serializers.ChoiceField(choices=UPLOAD_MODES, default="replace")

    def validate_file(self, value: Any) -> Any:
        if value.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(
                f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
            )
        return value


class SegmentJobResultSerializer(serializers.Serializer):
    added = serializers.IntegerField(required=False, help_text="Uploads: members added.")
    removed = serializers.IntegerField(required=False, help_text="Uploads: members removed.")
    total = serializers.IntegerField(required=False, help_text="Uploads: members after.")
    rows = serializers.IntegerField(
        required=False, help_text="Uploads: non-blank data rows read; exports: rows written."
    )
    duplicates = serializers.IntegerField(required=False, help_text="Uploads: repeated ids.")


class SegmentJobErrorRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Line of the file (1 is the first line).")
    message = serializers.CharField()


@extend_schema_serializer(component_name="SegmentJob")
class SegmentJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Poll this URL for progress.")
    download_url = serializers.SerializerMethodField(
        help_text="Exports, once done: the CSV. Null otherwise."
    )
    progress = serializers.SerializerMethodField(
        help_text="How far the current phase is, 0 to 1 (1 once done): ids matched while "
        "matching, members written while saving, rows written while exporting."
    )
    result = SegmentJobResultSerializer()
    error_rows = SegmentJobErrorRowSerializer(many=True)
    unmatched_sample = serializers.ListField(
        child=serializers.CharField(), help_text="Up to 20 uploaded ids with no stored profile."
    )

    class Meta:
        model = SegmentJob
        fields = [
            "id",
            "url",
            "site",
            "segment",
            "segment_key",
            "kind",
            "mode",
            "status",
            "phase",
            "processed",
            "total",
            "progress",
            "matched",
            "unmatched",
            "unmatched_sample",
            "result",
            "error",
            "error_rows",
            "file_name",
            "file_size",
            "download_url",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, job: SegmentJob) -> str:
        return self._absolute(reverse("segment-job-detail", args=[job.pk]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, job: SegmentJob) -> str | None:
        if job.kind != SegmentJobKind.EXPORT or job.status != SegmentJobStatus.DONE:
            return None
        return self._absolute(reverse("segment-job-download", args=[job.pk]))

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_progress(self, job: SegmentJob) -> float:
        return segment_job_status(job=job)["percent"] / 100


@extend_schema_serializer(component_name="SegmentSnapshot")
class SnapshotRequestSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=100, required=False)
    name = serializers.CharField(max_length=200, required=False)


@extend_schema_field(OpenApiTypes.INT)
class SiteIdField(UserSitesField):
    """The id of a site you may read."""


def _json_object(value: Any, what: str) -> Any:
    if not isinstance(value, dict):
        raise serializers.ValidationError(f"{what} must be a JSON object.")
    return value


def _segment_key_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="The key of the segment being edited, if any: the default salt of its "
        "rollouts, and references back to it are cycles.",
    )


@extend_schema_serializer(component_name="SegmentPreview")
class PreviewRequestSerializer(serializers.Serializer):
    site = SiteIdField()
    criteria = serializers.JSONField(help_text=CRITERIA_HELP)
    document = serializers.JSONField(
        required=False,
        help_text='A visitor document: {"visitor": {...}, "profile": {...}, "context": {...}, '
        '"events": [{"name", "properties", "timestamp"}]}. '
        "With user_id, it overrides stored values.",
    )
    user_id = serializers.CharField(
        max_length=255, required=False, help_text="Load this stored profile's document instead."
    )
    segment_key = _segment_key_field()

    def validate_criteria(self, value: Any) -> Any:
        return _json_object(value, "criteria")

    def validate_document(self, value: Any) -> Any:
        value = _json_object(value, "document")
        events = value.get("events")
        if events is not None and (not isinstance(events, list) or len(events) > 1000):
            raise serializers.ValidationError(
                "document.events must be a list of at most 1000 events."
            )
        return value

    def validate(self, attrs: dict) -> dict:
        if "document" not in attrs and not attrs.get("user_id"):
            raise serializers.ValidationError({"document": "Send a visitor document or a user_id."})
        return attrs


@extend_schema_serializer(component_name="SegmentPreviewResult")
class PreviewResponseSerializer(serializers.Serializer):
    matches = serializers.BooleanField()
    explanation = serializers.JSONField(help_text="Which nodes passed or failed, from the engine.")
    document = serializers.JSONField(help_text="The document that was evaluated.")


@extend_schema_serializer(component_name="SegmentAudience")
class AudienceRequestSerializer(serializers.Serializer):
    site = SiteIdField()
    criteria = serializers.JSONField(help_text=CRITERIA_HELP)
    sample = serializers.IntegerField(min_value=0, max_value=MAX_SAMPLE, default=10)
    segment_key = _segment_key_field()

    def validate_criteria(self, value: Any) -> Any:
        return _json_object(value, "criteria")


class AudienceMemberSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    traits = serializers.JSONField()


@extend_schema_serializer(component_name="SegmentAudienceResult")
class AudienceResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Exact number of stored profiles that match.")
    sample = AudienceMemberSerializer(many=True, help_text="Most recently seen matching profiles.")
