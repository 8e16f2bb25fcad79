"""Management API views for placements, screens, variants, revisions, schedules, the audit log
and design schemas. Reading needs the `view_site_data` permission on the object's site,
changing drafts `edit_content`, publishing / unpublishing / rollback / scheduling
`publish_content`; every write goes through `content.services`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from content.api import serializers as s
from content.api.filters import (
    AuditEntryFilter,
    ContentVariantFilter,
    PlacementFilter,
    PublishScheduleFilter,
    ScreenFilter,
    ScreenVariantFilter,
)
from content.models import (
    AuditEntry,
    ContentVariant,
    DesignSchema,
    Placement,
    PublishSchedule,
    Screen,
    ScreenVariant,
)
from content.models.slots import Slot
from content.selectors.revisions import revision_diff, slot_revision_get, slot_revisions
from content.services.drafts import (
    content_variant_create,
    content_variant_delete,
    content_variant_update,
    design_schema_update,
    placement_create,
    placement_delete,
    placement_update,
    screen_create,
    screen_delete,
    screen_update,
    screen_variant_create,
    screen_variant_delete,
    screen_variant_update,
)
from content.services.publishing import (
    publish_schedule_cancel,
    slot_publish,
    slot_rollback,
    slot_schedule,
    slot_unpublish,
)
from tenancy.api.scoping import SiteScopedViewSetMixin
from tenancy.roles import Perm
from tenancy.selectors import user_has_site_perm


def drf_error(exc: DjangoValidationError | IntegrityError) -> DrfValidationError:
    """A service's Django ValidationError as DRF's, keeping field paths (`body.items[0]`)."""
    if isinstance(exc, IntegrityError):
        return DrfValidationError(
            {"key": ["This would duplicate a key, or a second default variant."]}
        )
    if hasattr(exc, "error_dict"):
        detail = {
            ("non_field_errors" if key == "__all__" else key): messages
            for key, messages in exc.message_dict.items()
        }
        return DrfValidationError(detail)
    return DrfValidationError({"non_field_errors": exc.messages})


def call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (DjangoValidationError, IntegrityError) as exc:
        raise drf_error(exc) from exc


ERRORS = {400: None, 403: None, 404: None}
PUBLISH_ACTIONS = {"publish", "unpublish", "rollback", "schedule"}


class ContentScopedMixin(SiteScopedViewSetMixin):
    read_perm = Perm.VIEW
    write_perm = Perm.EDIT_CONTENT

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action in PUBLISH_ACTIONS:
            self.write_perm = Perm.PUBLISH_CONTENT

    def check_perm(self, perm: Perm, site_id: int) -> None:
        if not user_has_site_perm(self.request.user, perm, site_id):
            raise PermissionDenied("You may not do this on this site.")


class SlotViewSet(ContentScopedMixin, viewsets.ModelViewSet):
    """Shared by placements and screens: drafts plus publishing actions."""

    slot_fields: tuple[str, ...] = ()

    def _create(self, data: dict[str, Any]) -> Slot:
        raise NotImplementedError

    def perform_create(self, serializer: serializers.ModelSerializer) -> None:
        self.check_site_write(serializer.validated_data["site"])
        serializer.instance = call(self._create, data=serializer.validated_data)

    def perform_update(self, serializer: serializers.ModelSerializer) -> None:
        data = dict(serializer.validated_data)
        instance = serializer.instance
        for fixed in ("site", "key"):
            if fixed in data and data.pop(fixed) != getattr(instance, fixed):
                raise DrfValidationError(
                    {fixed: ["This cannot be changed; create a new one instead."]}
                )
        serializer.instance = call(self._update, instance=instance, data=data)

    def perform_destroy(self, instance: Slot) -> None:
        if instance.is_live:
            self.check_perm(Perm.PUBLISH_CONTENT, instance.site_id)
        call(self._delete, instance=instance)

    def _slot_response(self, slot: Slot, code: int = status.HTTP_200_OK) -> Response:
        slot = self.get_queryset().get(pk=slot.pk)
        return Response(self.get_serializer(slot).data, status=code)

    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        slot = self.get_object()
        body = s.PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call(slot_publish, slot=slot, user=request.user, note=body.validated_data["note"])
        return self._slot_response(slot)

    @action(detail=True, methods=["post"])
    def unpublish(self, request: Request, pk: str | None = None) -> Response:
        slot = self.get_object()
        call(slot_unpublish, slot=slot, user=request.user)
        return self._slot_response(slot)

    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        slot = self.get_object()
        body = s.RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call(
            slot_rollback,
            slot=slot,
            revision=body.validated_data["revision"],
            user=request.user,
        )
        return self._slot_response(slot)

    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        slot = self.get_object()
        body = s.ScheduleRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        schedule = call(slot_schedule, slot=slot, user=request.user, **body.validated_data)
        return Response(s.PublishScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def revisions(self, request: Request, pk: str | None = None) -> Response:
        slot = self.get_object()
        page = self.paginate_queryset(slot_revisions(slot=slot))
        data = s.RevisionSerializer(page, many=True).data
        return self.get_paginated_response(data)

    @action(detail=True, methods=["get"], url_path=r"revisions/(?P<number>\d+)")
    def revision(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        slot = self.get_object()
        revision = slot_revision_get(slot=slot, number=int(number))
        if revision is None:
            raise Http404
        against = "live" if request.query_params.get("against") == "live" else "draft"
        revision.diff = revision_diff(revision=revision, against=against)
        revision.against = against
        return Response(s.RevisionDetailSerializer(revision).data)


def slot_docs(plural: str, serializer: type[serializers.Serializer]) -> Any:
    """OpenAPI docs of a slot viewset's list and publishing actions (placements, screens)."""
    return extend_schema_view(
        list=extend_schema(summary=f"{plural} of your sites"),
        publish=extend_schema(
            summary="Publish the draft as a new revision",
            request=s.PublishSerializer,
            responses={200: serializer, **ERRORS},
        ),
        unpublish=extend_schema(
            summary="Stop delivering it", request=None, responses={200: serializer, **ERRORS}
        ),
        rollback=extend_schema(
            summary="Restore an earlier revision (published as a new one)",
            request=s.RollbackSerializer,
            responses={200: serializer, **ERRORS},
        ),
        schedule=extend_schema(
            summary="Schedule a publish (of the current draft) or an unpublish",
            request=s.ScheduleRequestSerializer,
            responses={201: s.PublishScheduleSerializer, **ERRORS},
        ),
        revisions=extend_schema(
            summary="Published revisions, newest first", responses=s.RevisionSerializer(many=True)
        ),
        revision=extend_schema(
            summary="One revision with a diff against the current draft (or `?against=live`)",
            parameters=[
                OpenApiParameter("number", int, OpenApiParameter.PATH),
                OpenApiParameter("against", str, enum=["draft", "live"]),
            ],
            responses={200: s.RevisionDetailSerializer, 404: None},
        ),
    )


@slot_docs("Placements", s.PlacementSerializer)
class PlacementViewSet(SlotViewSet):
    """Placements (slots on a page or app screen) with their variants; drafts and publishing."""

    queryset = Placement.objects.select_related("site", "live_revision").prefetch_related(
        "variants__segment", "variants__translations"
    )
    serializer_class = s.PlacementSerializer
    filterset_class = PlacementFilter

    def _create(self, *, data: dict[str, Any]) -> Placement:
        return placement_create(**data)

    def _update(self, *, instance: Placement, data: dict[str, Any]) -> Placement:
        return placement_update(placement=instance, data=data)

    def _delete(self, *, instance: Placement) -> None:
        placement_delete(placement=instance, user=self.request.user)


@slot_docs("Screens", s.ScreenSerializer)
class ScreenViewSet(SlotViewSet):
    """Screens with their design variants; drafts and publishing."""

    queryset = Screen.objects.select_related("site", "live_revision").prefetch_related(
        "variants__segment", "variants__translations"
    )
    serializer_class = s.ScreenSerializer
    filterset_class = ScreenFilter

    def _create(self, *, data: dict[str, Any]) -> Screen:
        return screen_create(**data)

    def _update(self, *, instance: Screen, data: dict[str, Any]) -> Screen:
        return screen_update(screen=instance, data=data)

    def _delete(self, *, instance: Screen) -> None:
        screen_delete(screen=instance, user=self.request.user)


class VariantViewSet(ContentScopedMixin, viewsets.ModelViewSet):
    parent_field = ""

    def perform_create(self, serializer: serializers.ModelSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_site_write(data[self.parent_field].site_id)
        serializer.instance = call(self._create, **data)

    def perform_update(self, serializer: serializers.ModelSerializer) -> None:
        data = dict(serializer.validated_data)
        parent = data.pop(self.parent_field, None)
        if parent is not None and parent.pk != getattr(
            serializer.instance, f"{self.parent_field}_id"
        ):
            raise DrfValidationError(
                {self.parent_field: ["A variant cannot move to another slot."]}
            )
        serializer.instance = call(self._update, variant=serializer.instance, data=data)

    def perform_destroy(self, instance: Any) -> None:
        call(self._delete, variant=instance)


@extend_schema_view(list=extend_schema(summary="Content variants (filter by placement)"))
class ContentVariantViewSet(VariantViewSet):
    """Variants of placements: a body per segment, by priority, with one default."""

    queryset = ContentVariant.objects.select_related("placement", "segment").prefetch_related(
        "translations"
    )
    serializer_class = s.ContentVariantSerializer
    filterset_class = ContentVariantFilter
    site_lookup = "placement__site_id__in"
    parent_field = "placement"
    _create = staticmethod(content_variant_create)
    _update = staticmethod(content_variant_update)
    _delete = staticmethod(content_variant_delete)


@extend_schema_view(list=extend_schema(summary="Screen-design variants (filter by screen)"))
class ScreenVariantViewSet(VariantViewSet):
    """Design variants of screens: a design document per segment, with one default."""

    queryset = ScreenVariant.objects.select_related("screen", "segment").prefetch_related(
        "translations"
    )
    serializer_class = s.ScreenVariantSerializer
    filterset_class = ScreenVariantFilter
    site_lookup = "screen__site_id__in"
    parent_field = "screen"
    _create = staticmethod(screen_variant_create)
    _update = staticmethod(screen_variant_update)
    _delete = staticmethod(screen_variant_delete)


@extend_schema_view(
    cancel=extend_schema(
        summary="Cancel a pending schedule",
        request=None,
        responses={200: s.PublishScheduleSerializer, **ERRORS},
    ),
)
class PublishScheduleViewSet(
    ContentScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Scheduled publishes and unpublishes (create them with a slot's `schedule` action)."""

    queryset = PublishSchedule.objects.select_related("created_by")
    serializer_class = s.PublishScheduleSerializer
    filterset_class = PublishScheduleFilter
    write_perm = Perm.PUBLISH_CONTENT

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        schedule = call(publish_schedule_cancel, schedule=self.get_object(), user=request.user)
        return Response(self.get_serializer(schedule).data)


class AuditEntryViewSet(
    ContentScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Who published, unpublished, rolled back or scheduled what, and when."""

    queryset = AuditEntry.objects.select_related("actor")
    serializer_class = s.AuditEntrySerializer
    filterset_class = AuditEntryFilter


class DesignSchemaViewSet(
    ContentScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Each site's JSON Schema for screen designs (site admins change it)."""

    queryset = DesignSchema.objects.all()
    serializer_class = s.DesignSchemaSerializer
    filterset_fields = ["site"]
    write_perm = Perm.MANAGE_SITE

    def perform_create(self, serializer: s.DesignSchemaSerializer) -> None:
        site = serializer.validated_data["site"]
        self.check_site_write(site)
        schema = serializer.validated_data["schema"]
        serializer.instance = call(
            design_schema_update, site=site, schema=schema, user=self.request.user
        )

    def perform_update(self, serializer: s.DesignSchemaSerializer) -> None:
        site = serializer.validated_data.get("site", serializer.instance.site)
        if site.pk != serializer.instance.site_id:
            raise DrfValidationError({"site": ["This cannot be changed."]})
        schema = serializer.validated_data.get("schema", serializer.instance.schema)
        serializer.instance = call(
            design_schema_update, site=site, schema=schema, user=self.request.user
        )
