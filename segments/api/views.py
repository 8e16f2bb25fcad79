"""Management API for fields and segments. Views validate input and call services/selectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import StreamingHttpResponse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from segments.api.filters import FieldFilter, SegmentFilter
from segments.api.parsers import BoundedJSONParser
from segments.api.serializers import (
    AudienceRequestSerializer,
    AudienceResponseSerializer,
    CountSerializer,
    FieldSerializer,
    FieldUpdateSerializer,
    MemberSerializer,
    PreviewRequestSerializer,
    PreviewResponseSerializer,
    SegmentJobSerializer,
    SegmentRevisionSerializer,
    SegmentSerializer,
    SegmentUpdateSerializer,
    SnapshotRequestSerializer,
    UploadRequestSerializer,
)
from segments.criteria import CriteriaError
from segments.criteria.examples import criteria_example
from segments.models import (
    Field,
    Profile,
    Segment,
    SegmentJob,
    SegmentJobKind,
    SegmentJobStatus,
)
from segments.selectors.definitions import criteria_errors, segment_revisions
from segments.selectors.jobs import segment_job_file
from segments.selectors.members import segment_count, segment_export_csv, segment_members
from segments.selectors.preview import criteria_audience, criteria_preview
from segments.services.fields import field_create, field_delete, field_update
from segments.services.jobs import segment_export_job_create, segment_upload_job_create
from segments.services.segments import (
    segment_archive,
    segment_create,
    segment_delete,
    segment_snapshot,
    segment_update,
)
from segments.services.static import UploadError
from tenancy.api.errors import Conflict
from tenancy.api.parsers import StrictFormParser, StrictMultiPartParser
from tenancy.api.scoping import SiteScopedViewSetMixin
from tenancy.roles import Perm

ERROR_RESPONSES = {
    400: OpenApiResponse(
        description='Invalid input: {"error": {"code", "message", "fields": [{"path", "message"}]}}'
    ),
    404: OpenApiResponse(description="Not found, or on a site you may not read."),
}


def segment_example(name: str) -> dict[str, Any]:
    """A segment create body from the shared criteria example `name`."""
    example = criteria_example(name)
    return {
        "site": 1,
        "key": example["name"],
        "name": example["title"],
        "description": example["description"],
        "criteria": example["tree"],
        "status": "active",
    }


def criteria_openapi_example(name: str, **body: Any) -> OpenApiExample:
    """A request example of the builder endpoints with the criteria of example `name`."""
    example = criteria_example(name)
    return OpenApiExample(
        example["title"],
        description=example["description"],
        value={"site": 1, "criteria": example["tree"], **body},
        request_only=True,
    )


class MembersPagination(LimitOffsetPagination):
    max_limit = 500


@contextmanager
def as_api_errors(prefix: str = "criteria") -> Iterator[None]:
    """Service errors become 400s in the API's error envelope, criteria errors with paths."""
    try:
        yield
    except CriteriaError as exc:
        detail: dict[str, list[str]] = {}
        for err in criteria_errors(error=exc, prefix=prefix):
            detail.setdefault(err["path"], []).append(err["message"])
        raise ValidationError(detail) from exc
    except UploadError as exc:
        if exc.rows:
            raise ValidationError(
                {"file": {row["row"]: [f"Row {row['row']}: {row['message']}"] for row in exc.rows}}
            ) from exc
        raise ValidationError({"file": exc.messages}) from exc
    except DjangoValidationError as exc:
        raise ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        ) from exc


@extend_schema_view(
    list=extend_schema(summary="List fields of your sites' catalogs"),
    retrieve=extend_schema(summary="A field", responses={200: FieldSerializer, **ERROR_RESPONSES}),
    create=extend_schema(
        summary="Add a custom field",
        description="The path starts with `profile.` or `context.`. "
        "Enum fields need allowed values.",
        responses={201: FieldSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "Custom number field",
                value={"site": 1, "path": "profile.balance", "type": "number", "label": "Balance"},
                request_only=True,
            )
        ],
    ),
    update=extend_schema(summary="Change a field", request=FieldUpdateSerializer),
    partial_update=extend_schema(summary="Change a field", request=FieldUpdateSerializer),
    destroy=extend_schema(summary="Delete a custom field (not built-ins, not fields in use)"),
)
class FieldViewSet(SiteScopedViewSetMixin, viewsets.ModelViewSet):
    """The field catalog: built-in fields (seeded per site) and each site's custom fields."""

    queryset = Field.objects.all()
    serializer_class = FieldSerializer
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_SEGMENTS
    filterset_class = FieldFilter
    parser_classes = [BoundedJSONParser]
    lookup_value_regex = r"\d+"

    def get_serializer_class(self) -> type:
        if self.action in ("update", "partial_update"):
            return FieldUpdateSerializer
        return FieldSerializer

    def perform_create(self, serializer: FieldSerializer) -> None:
        data = serializer.validated_data
        self.check_site_write(data["site"])
        with as_api_errors():
            serializer.instance = field_create(**data)

    def perform_update(self, serializer: FieldUpdateSerializer) -> None:
        with as_api_errors():
            serializer.instance = field_update(
                field=serializer.instance, **serializer.validated_data
            )

    def perform_destroy(self, instance: Field) -> None:
        with as_api_errors():
            field_delete(field=instance)


@extend_schema_view(
    list=extend_schema(summary="List segments of your sites"),
    retrieve=extend_schema(
        summary="A segment", responses={200: SegmentSerializer, **ERROR_RESPONSES}
    ),
    create=extend_schema(
        summary="Create a segment",
        description="Dynamic segments are validated against the site's field catalog and its other "
        "segments; an invalid tree is a 400 whose `fields[].path` points into `criteria`.",
        responses={201: SegmentSerializer, **ERROR_RESPONSES},
        examples=[
            *(
                OpenApiExample(
                    criteria_example(name)["title"],
                    value=segment_example(name),
                    request_only=True,
                )
                for name in ("detroit-shoe-shoppers", "spring-promo-rollout")
            ),
            OpenApiExample(
                "Invalid criteria",
                value={
                    "error": {
                        "code": "invalid",
                        "message": "criteria.all[1].value: Expected a number.",
                        "fields": [
                            {"path": "criteria.all[1].value", "message": "Expected a number."}
                        ],
                    }
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    ),
    update=extend_schema(summary="Change a segment", request=SegmentUpdateSerializer),
    partial_update=extend_schema(summary="Change a segment", request=SegmentUpdateSerializer),
    destroy=extend_schema(summary="Delete a segment no other segment references"),
)
class SegmentViewSet(SiteScopedViewSetMixin, viewsets.ModelViewSet):
    """Segments: audiences defined by criteria (dynamic) or by a list of user ids (static)."""

    queryset = Segment.objects.select_related("created_by")
    serializer_class = SegmentSerializer
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_SEGMENTS
    filterset_class = SegmentFilter
    parser_classes = [BoundedJSONParser]
    lookup_value_regex = r"\d+"

    def get_serializer_class(self) -> type:
        if self.action in ("update", "partial_update"):
            return SegmentUpdateSerializer
        return SegmentSerializer

    def perform_create(self, serializer: SegmentSerializer) -> None:
        data = serializer.validated_data
        self.check_site_write(data["site"])
        with as_api_errors():
            serializer.instance = segment_create(created_by=self.request.user, **data)

    def perform_update(self, serializer: SegmentUpdateSerializer) -> None:
        with as_api_errors():
            serializer.instance = segment_update(
                segment=serializer.instance,
                changed_by=self.request.user,
                **serializer.validated_data,
            )

    def perform_destroy(self, instance: Segment) -> None:
        try:
            with as_api_errors():
                segment_delete(segment=instance)
        except (RestrictedError, ProtectedError) as exc:
            raise Conflict(in_use_message(instance, exc)) from exc

    @extend_schema(
        summary="Exact member count", responses={200: CountSerializer, **ERROR_RESPONSES}
    )
    @action(detail=True, methods=["get"])
    def count(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        with as_api_errors():
            return Response({"count": segment_count(segment=segment)})

    @extend_schema(
        summary="Page through members",
        responses={200: MemberSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=MembersPagination)
    def members(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        with as_api_errors():
            page = self.paginate_queryset(segment_members(segment=segment))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="Export members as CSV (streamed)",
        description="Streams `user_id`, one column per profile field of the catalog, and "
        "`other_traits` (JSON). For a large segment, `POST` starts the same export as a "
        "background job instead.",
        responses={(200, "text/csv"): OpenApiResponse(description="CSV file")},
    )
    @extend_schema(
        methods=["POST"],
        summary="Export members as CSV (background job)",
        description="Starts the export as a job and answers 202 with it: poll its `url` "
        "until `status` is `done`, then download `download_url`. Anyone who may read the "
        "segment may export it.",
        request=None,
        responses={202: SegmentJobSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def export(self, request: Request, pk: str | None = None) -> StreamingHttpResponse | Response:
        if request.method == "POST":
            # Reading is enough to export: look up among readable segments, not writable.
            segment = get_object_or_404(self.filter_queryset(self.get_queryset()), pk=pk)
            with as_api_errors():
                job = segment_export_job_create(segment=segment, created_by=request.user)
            return _job_accepted(request, job)
        segment = self.get_object()
        with as_api_errors():
            # Compile now so an invalid segment is a 400, not a broken download.
            rows = segment_export_csv(segment=segment)
            first = next(rows)
        response = StreamingHttpResponse(
            _chain(first, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.key}.csv"'
        return response

    @extend_schema(
        summary="History of changes", responses={200: SegmentRevisionSerializer(many=True)}
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        page = self.paginate_queryset(segment_revisions(segment=segment))
        return self.get_paginated_response(SegmentRevisionSerializer(page, many=True).data)

    @extend_schema(
        summary="Upload user ids of a static segment (CSV, background job)",
        description="Stores the file and answers 202 with the upload job: poll its `url` for "
        "progress (`processed` of `total` ids checked against stored profiles; `matched`, "
        "`unmatched` and a sample of unmatched ids). All or nothing: any invalid row fails "
        "the job with `error_rows` and changes nothing. A dynamic segment, an unknown mode "
        "or a file over the size limit is a 400 at once.",
        request={"multipart/form-data": UploadRequestSerializer},
        responses={202: SegmentJobSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], parser_classes=[StrictMultiPartParser, StrictFormParser])
    def upload(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        serializer = UploadRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with as_api_errors():
            job = segment_upload_job_create(
                segment=segment,
                file=serializer.validated_data["file"],
                mode=serializer.validated_data["mode"],
                created_by=request.user,
            )
        return _job_accepted(request, job)

    @extend_schema(
        summary="Freeze current members into a new static segment",
        request=SnapshotRequestSerializer,
        responses={201: SegmentSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def snapshot(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        serializer = SnapshotRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with as_api_errors():
            snapshot = segment_snapshot(
                segment=segment, created_by=request.user, **serializer.validated_data
            )
        return Response(
            SegmentSerializer(snapshot, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(summary="Archive", request=None, responses={200: SegmentSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        with as_api_errors():
            segment = segment_archive(segment=segment, changed_by=request.user)
        return Response(SegmentSerializer(segment, context=self.get_serializer_context()).data)


def in_use_message(segment: Segment, exc: RestrictedError | ProtectedError) -> str:
    """What still uses the segment, as the admin's delete page lists it."""
    users = getattr(exc, "restricted_objects", None) or getattr(exc, "protected_objects", ())
    names = sorted(
        f"{type(obj)._meta.verbose_name} '{obj}' of {obj.parent}"
        if getattr(obj, "parent", None) is not None
        else f"{type(obj)._meta.verbose_name} '{obj}'"
        for obj in users
    )
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"Segment '{segment.key}' is used by {shown}. "
        "Remove it from them (or archive the segment) first."
    )


def _job_accepted(request: Request, job: SegmentJob) -> Response:
    job.refresh_from_db()  # without a broker it has already run
    data = SegmentJobSerializer(job, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


@extend_schema_view(
    list=extend_schema(summary="Upload and export jobs of your sites' segments, newest first"),
    retrieve=extend_schema(
        summary="A job's progress and outcome",
        responses={200: SegmentJobSerializer, **ERROR_RESPONSES},
    ),
)
class SegmentJobViewSet(SiteScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Segment upload and export jobs (kept a week), on the sites you may read."""

    queryset = SegmentJob.objects.all()
    serializer_class = SegmentJobSerializer
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_SEGMENTS
    lookup_value_regex = r"\d+"
    filterset_fields = ["site", "segment", "kind", "status"]

    @extend_schema(
        summary="Download a finished export (CSV)",
        responses={
            (200, "text/csv"): OpenApiResponse(description="CSV file"),
            404: OpenApiResponse(description="No such job on your sites, or no file yet."),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        job = self.get_object()
        if job.kind != SegmentJobKind.EXPORT or job.status != SegmentJobStatus.DONE:
            raise NotFound("This job has no file to download (yet).")
        return segment_job_download_response(job=job)


def segment_job_download_response(*, job: SegmentJob) -> StreamingHttpResponse:
    """The export's CSV as an attachment (the admin serves the same)."""
    response = StreamingHttpResponse(
        segment_job_file(job=job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
    response["Content-Length"] = str(job.file_size)
    return response


def _chain(first: str, rest: Any):
    yield first
    yield from rest


class PreviewParser(BoundedJSONParser):
    max_bytes = 256 * 1024


class _BuilderView(APIView):
    """Base of the builder's live endpoints: signed-in staff, JSON bodies up to 256 KB."""

    permission_classes = [IsAuthenticated]
    parser_classes = [PreviewParser]


class SegmentPreviewView(_BuilderView):
    @extend_schema(
        operation_id="segments_preview",
        summary="Does a visitor match these criteria?",
        description="Evaluates criteria (unsaved) against a visitor document, or a stored "
        "profile's "
        "document when `user_id` is sent, and explains which nodes passed. Needs read access to "
        "the site. Body at most 256 KB.",
        request=PreviewRequestSerializer,
        responses={200: PreviewResponseSerializer, **ERROR_RESPONSES},
        examples=[
            criteria_openapi_example(
                "rainy-evening", document=criteria_example("rainy-evening")["document"]
            ),
        ],
        tags=["segments"],
    )
    def post(self, request: Request) -> Response:
        serializer = PreviewRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with as_api_errors():
            try:
                preview = criteria_preview(
                    site=data["site"],
                    criteria=data["criteria"],
                    document=data.get("document"),
                    user_id=data.get("user_id"),
                    segment_key=data.get("segment_key"),
                )
            except Profile.DoesNotExist as exc:
                raise ValidationError({"user_id": [str(exc)]}) from exc
        return Response(PreviewResponseSerializer(preview).data)


class SegmentAudienceView(_BuilderView):
    @extend_schema(
        operation_id="segments_audience",
        summary="How many stored profiles match these criteria?",
        description="Exact count over the site's stored profiles and a sample (0-50) of the most "
        "recently seen members. Needs read access to the site.",
        request=AudienceRequestSerializer,
        responses={200: AudienceResponseSerializer, **ERROR_RESPONSES},
        examples=[
            criteria_openapi_example("ios-legacy-app", sample=5),
            criteria_openapi_example("new-visitors-nearby", sample=5),
            OpenApiExample(
                "Answer",
                value={"count": 412, "sample": [{"user_id": "u-42", "traits": {"age": 27}}]},
                response_only=True,
            ),
        ],
        tags=["segments"],
    )
    def post(self, request: Request) -> Response:
        serializer = AudienceRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with as_api_errors():
            audience = criteria_audience(
                site=data["site"],
                criteria=data["criteria"],
                sample=data["sample"],
                segment_key=data.get("segment_key"),
            )
        return Response(AudienceResponseSerializer(audience).data)


@extend_schema(exclude=True)
class SegmentPreviewSlashView(SegmentPreviewView):
    """Same as SegmentPreviewView, for clients that add a trailing slash."""


@extend_schema(exclude=True)
class SegmentAudienceSlashView(SegmentAudienceView):
    """Same as SegmentAudienceView, for clients that add a trailing slash."""
