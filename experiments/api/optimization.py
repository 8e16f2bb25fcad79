"""Management API of optimizations: setup, lifecycle, "train now" and the model versions,
site-scoped and role-checked like experiments (every role reads; marketers and site admins
write). Setup errors are 400s whose `fields` carry the services' paths
(`arms[1].content_variant`, `features[2].top_k`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.models import Metric
from content.models import ContentVariant, Placement, Screen, ScreenVariant
from experiments.api.serializers import UserSiteObjectField
from experiments.models import (
    Optimization,
    OptimizationArm,
    OptimizationStatus,
    PolicyVersion,
    PolicyVersionStatus,
    PromotionRule,
)
from experiments.services.optimization import (
    OPTIMIZATION_FIELDS,
    optimization_create,
    optimization_delete,
    optimization_pause,
    optimization_resume,
    optimization_start,
    optimization_stop,
    optimization_update,
)
from segments.api.views import as_api_errors
from tenancy.api.scoping import SiteScopedViewSetMixin, UserSitesField
from tenancy.roles import Perm

FEATURES_HELP = (
    "What the model may read: a list of feature declarations, each with a `kind`: "
    '`category` (`{"kind": "category", "field": "context.device_type", "top_k": 8}`), '
    "`number`, `flag` (a `field`), `segment` (`segment`: a segment key of the site), "
    "`hour`, `weekday` (a datetime `field`, e.g. `context.local_time`), `recency`, "
    "`frequency` (optional `event`, `within_days`). Fixed once started."
)

OPTIMIZATION_EXAMPLE = {
    "site": 1,
    "key": "hero-optimized",
    "name": "Hero, per visitor",
    "placement": 3,
    "goal": 2,
    "features": [
        {"kind": "category", "field": "context.device_type"},
        {"kind": "hour", "field": "context.local_time"},
    ],
    "arms": [
        {"key": "spring", "content_variant": 12},
        {"key": "summer", "content_variant": 13},
    ],
    "holdout_share": 0.1,
    "floor": 0.02,
}


class OptimizationArmSerializer(serializers.ModelSerializer):
    key = serializers.SlugField(max_length=100)
    content_variant = UserSiteObjectField(
        ContentVariant, "placement__site_id__in", required=False, allow_null=True
    )
    design_variant = UserSiteObjectField(
        ScreenVariant, "screen__site_id__in", required=False, allow_null=True
    )

    class Meta:
        model = OptimizationArm
        fields = ["key", "content_variant", "design_variant"]
        validators: list = []


class OptimizationSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    key = serializers.SlugField(max_length=100)
    placement = UserSiteObjectField(Placement, required=False, allow_null=True)
    screen = UserSiteObjectField(Screen, required=False, allow_null=True)
    goal = UserSiteObjectField(
        Metric, help_text="A conversion, count or sum metric of the site (not a ratio)."
    )
    features = serializers.JSONField(help_text=FEATURES_HELP)
    promotion_rule = serializers.ChoiceField(
        choices=PromotionRule.choices, default=PromotionRule.NOT_WORSE
    )
    status = serializers.ChoiceField(choices=OptimizationStatus.choices, read_only=True)
    live_version = serializers.SerializerMethodField(
        help_text="Number of the model serving now; 0: the uniform policy."
    )
    arms = OptimizationArmSerializer(
        many=True, help_text="At least two eligible variants of the slot. Fixed once started."
    )

    class Meta:
        model = Optimization
        fields = [
            "id",
            "site",
            *OPTIMIZATION_FIELDS,
            "status",
            "live_version",
            "started_at",
            "stopped_at",
            "last_trained_at",
            "arms",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "started_at",
            "stopped_at",
            "last_trained_at",
            "created_at",
            "updated_at",
        ]
        validators: list = []  # uniqueness and consistency are the services' job

    def get_live_version(self, obj: Optimization) -> int:
        return obj.live_version.number if obj.live_version_id else 0


class OptimizationUpdateSerializer(OptimizationSerializer):
    arms = OptimizationArmSerializer(
        many=True, required=False, help_text="Replaces the arms (drafts only)."
    )

    class Meta(OptimizationSerializer.Meta):
        read_only_fields = ["site", *OptimizationSerializer.Meta.read_only_fields]


class PolicyVersionSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=PolicyVersionStatus.choices, read_only=True)
    quality = serializers.JSONField(
        read_only=True,
        help_text="The promotion gate's figures on held-out decisions: `candidate` and `live` "
        "doubly robust estimates with intervals, their `difference`, `promote`, `reason`, "
        "`snips` estimates of both, `held_out`, `rule`, `margin`, `live_version`.",
    )
    policy = serializers.JSONField(read_only=True, help_text="The compiled tables, as served.")

    class Meta:
        model = PolicyVersion
        fields = [
            "number",
            "status",
            "trained_at",
            "window_start",
            "window_end",
            "decisions",
            "rewarded",
            "held_out",
            "features",
            "quality",
            "promoted_at",
            "retired_at",
            "policy",
        ]
        read_only_fields = fields


TRAIN_OUTCOMES = [
    ("promoted", "promoted"),
    ("rejected", "rejected"),
    ("skipped", "skipped"),
    ("queued", "queued"),
]


class TrainResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=TRAIN_OUTCOMES,
        help_text="promoted / rejected: a new version was stored; skipped: too little data "
        "(nothing stored); queued: a worker will train it.",
    )
    reason = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField(allow_null=True, help_text="The new version's number.")


def _arm_specs(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    return None if rows is None else [dict(row) for row in rows]


@extend_schema_view(
    list=extend_schema(summary="List your sites' optimizations"),
    retrieve=extend_schema(summary="An optimization, with its eligible arms"),
    create=extend_schema(
        summary="Set up an optimization (a draft)",
        description="Exactly one of `placement` and `screen`; each arm is a variant of that "
        "slot (`content_variant` for a placement, `design_variant` for a screen). `floor` x "
        "arms must not exceed 1; `holdout_share` is 0-0.5.",
        examples=[OpenApiExample("Two variants", value=OPTIMIZATION_EXAMPLE, request_only=True)],
    ),
    update=extend_schema(summary="Change an optimization", request=OptimizationUpdateSerializer),
    partial_update=extend_schema(
        summary="Change an optimization",
        description="Once started, the slot, goal, features, seed, key and arms are fixed "
        "(stop it and create a new one); training settings, floor and holdout may change.",
        request=OptimizationUpdateSerializer,
    ),
    destroy=extend_schema(summary="Delete an optimization (not while running)"),
)
class OptimizationViewSet(SiteScopedViewSetMixin, viewsets.ModelViewSet):
    """One-to-one optimization of a placement or a screen by a learnt policy."""

    queryset = Optimization.objects.select_related(
        "placement", "screen", "goal", "live_version"
    ).prefetch_related("arms")
    serializer_class = OptimizationSerializer
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_EXPERIMENTS
    lookup_value_regex = r"\d+"

    def get_serializer_class(self) -> type:
        if self.action in ("update", "partial_update"):
            return OptimizationUpdateSerializer
        if self.action == "versions":
            return PolicyVersionSerializer
        if self.action == "train":
            return TrainResultSerializer
        return OptimizationSerializer

    def perform_create(self, serializer: OptimizationSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_site_write(data["site"])
        arms = _arm_specs(data.pop("arms"))
        with as_api_errors():
            serializer.instance = optimization_create(arms=arms, user=self.request.user, **data)

    def perform_update(self, serializer: OptimizationUpdateSerializer) -> None:
        data = dict(serializer.validated_data)
        arms = _arm_specs(data.pop("arms", None))
        with as_api_errors():
            serializer.instance = optimization_update(
                optimization=serializer.instance, data=data, arms=arms, user=self.request.user
            )

    def perform_destroy(self, instance: Optimization) -> None:
        with as_api_errors():
            optimization_delete(optimization=instance, user=self.request.user)

    def _lifecycle(self, service: Any) -> Response:
        optimization = self.get_object()
        with as_api_errors():
            service(optimization=optimization, user=self.request.user)
        fresh = self.get_queryset().get(pk=optimization.pk)
        return Response(OptimizationSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Start a draft (the uniform policy serves until a model is promoted)",
        request=None,
        responses=OptimizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(optimization_start)

    @extend_schema(
        summary="Pause (visitors get normal personalization)",
        request=None,
        responses=OptimizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(optimization_pause)

    @extend_schema(
        summary="Resume a paused optimization with its live model",
        request=None,
        responses=OptimizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(optimization_resume)

    @extend_schema(summary="Stop for good", request=None, responses=OptimizationSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(optimization_stop)

    @extend_schema(
        summary="Train now: a candidate model, gated against the live one",
        description="Trains on the decisions of the training window even if the schedule "
        "would not yet; a running or paused optimization only. Without a worker the "
        "training runs in the request and its outcome is returned (200); with one it is "
        "queued (202).",
        request=None,
        responses={200: TrainResultSerializer, 202: TrainResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def train(self, request: Request, pk: str | None = None) -> Response:
        from experiments.tasks import train_optimization

        optimization = self.get_object()
        result = train_optimization.delay(optimization.pk, True)
        if result.ready():  # eager: ran in this request
            outcome = result.get()
            return Response(
                {k: outcome[k] for k in ("status", "reason", "version")}, status=status.HTTP_200_OK
            )
        return Response(
            {"status": "queued", "reason": "", "version": None}, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        summary="The optimization's model versions, newest first",
        description="Every trained model, promoted or not: its training window, counts, "
        "features, compiled tables and the promotion gate's figures.",
        responses=PolicyVersionSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        optimization = self.get_object()
        rows = optimization.versions.order_by("-number")
        page = self.paginate_queryset(rows)
        if page is not None:
            return self.get_paginated_response(PolicyVersionSerializer(page, many=True).data)
        return Response(PolicyVersionSerializer(rows, many=True).data)
