"""Serializers of the experiments API: shapes and types only. What makes a setup consistent
(arms, slot, layer slices, conflicts) is the services' job, reported with the same paths."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import serializers

from analytics.models import Metric
from content.models import ContentVariant, Placement, Screen, ScreenVariant
from experiments.models import (
    Arm,
    Experiment,
    ExperimentMetric,
    ExperimentMode,
    ExperimentPhase,
    ExperimentStatus,
    GlobalHoldout,
    Layer,
    MetricRole,
)
from segments.models import Segment
from tenancy.api.scoping import UserSitesField
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user


class UserSiteObjectField(serializers.PrimaryKeyRelatedField):
    """An id of an object of a site the user may read; that it is the experiment's own site
    is checked by the services (a 400 on that field, never a leak of another site's ids)."""

    def __init__(self, model: type[Model], lookup: str = "site_id__in", **kwargs: Any) -> None:
        self.model, self.lookup = model, lookup
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        if request is None:
            return self.model.objects.none()
        site_ids = site_ids_for_user(request.user, Perm.VIEW)
        return self.model.objects.filter(**{self.lookup: site_ids})


class ArmSerializer(serializers.ModelSerializer):
    key = serializers.SlugField(max_length=100)
    weight = serializers.FloatField(default=1.0, help_text="Relative share (> 0).")
    content_variant = UserSiteObjectField(
        ContentVariant, "placement__site_id__in", required=False, allow_null=True
    )
    design_variant = UserSiteObjectField(
        ScreenVariant, "screen__site_id__in", required=False, allow_null=True
    )

    class Meta:
        model = Arm
        fields = ["key", "name", "weight", "is_control", "content_variant", "design_variant"]
        validators: list = []


class ExperimentMetricSerializer(serializers.ModelSerializer):
    metric = UserSiteObjectField(Metric)
    role = serializers.ChoiceField(choices=MetricRole.choices, default=MetricRole.PRIMARY)

    class Meta:
        model = ExperimentMetric
        fields = ["metric", "role", "cuped_days"]
        validators: list = []


class PhaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExperimentPhase
        fields = ["number", "started_at", "ended_at", "coverage", "weights", "note"]
        read_only_fields = fields


class ExperimentSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    key = serializers.SlugField(max_length=100)
    layer = UserSiteObjectField(Layer, required=False, allow_null=True)
    placement = UserSiteObjectField(Placement, required=False, allow_null=True)
    screen = UserSiteObjectField(Screen, required=False, allow_null=True)
    audience = UserSiteObjectField(Segment, required=False, allow_null=True)
    mode = serializers.ChoiceField(choices=ExperimentMode.choices, default=ExperimentMode.FIXED)
    status = serializers.ChoiceField(choices=ExperimentStatus.choices, read_only=True)
    arms = ArmSerializer(many=True, help_text="At least two; at most one control.")
    metrics = ExperimentMetricSerializer(many=True, required=False)
    phases = PhaseSerializer(many=True, read_only=True)

    class Meta:
        model = Experiment
        fields = [
            "id",
            "site",
            "key",
            "name",
            "hypothesis",
            "placement",
            "screen",
            "audience",
            "layer",
            "layer_start",
            "layer_end",
            "coverage",
            "seed",
            "mode",
            "tuning",
            "alpha",
            "bandit_floor",
            "status",
            "phase",
            "started_at",
            "stopped_at",
            "arms",
            "metrics",
            "phases",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["phase", "started_at", "stopped_at", "created_at", "updated_at"]
        validators: list = []  # uniqueness and consistency are the services' job


class ExperimentUpdateSerializer(ExperimentSerializer):
    arms = ArmSerializer(
        many=True,
        required=False,
        help_text="Replaces the arms. Once started only weights and names may change "
        "(a new phase unless keep_phase).",
    )
    keep_phase = serializers.BooleanField(
        default=False,
        write_only=True,
        help_text="When a live experiment's weights change, keep the phase (assigned units "
        "keep their arm) instead of starting a new one.",
    )

    class Meta(ExperimentSerializer.Meta):
        fields = [*ExperimentSerializer.Meta.fields, "keep_phase"]
        read_only_fields = ["site", *ExperimentSerializer.Meta.read_only_fields]


class StopSerializer(serializers.Serializer):
    winner = serializers.SlugField(
        required=False,
        allow_blank=True,
        help_text="An arm key: its variant becomes the slot's default, published as a new "
        "revision in the same step.",
    )


class WeightsSerializer(serializers.Serializer):
    weights = serializers.DictField(
        child=serializers.FloatField(), help_text='{arm_key: weight}, e.g. {"control": 1, "b": 3}.'
    )
    keep_phase = serializers.BooleanField(default=False)


class LayerSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    key = serializers.SlugField(max_length=100)

    class Meta:
        model = Layer
        fields = ["id", "site", "key", "name", "seed", "description", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []


class LayerUpdateSerializer(LayerSerializer):
    class Meta(LayerSerializer.Meta):
        read_only_fields = ["site", "created_at", "updated_at"]


class HoldoutSerializer(serializers.ModelSerializer):
    site = serializers.IntegerField(source="site_id", read_only=True)
    share = serializers.FloatField(
        min_value=0.0, max_value=0.5, help_text="Share of visitors held out (0..0.5)."
    )

    class Meta:
        model = GlobalHoldout
        fields = ["site", "enabled", "share", "seed", "updated_at"]
        read_only_fields = ["updated_at"]
