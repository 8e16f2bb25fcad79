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
    ExperimentMethod,
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
    method = serializers.ChoiceField(
        choices=ExperimentMethod.choices,
        default=ExperimentMethod.SEQUENTIAL,
        help_text="How the results are analysed: sequential (safe to read every day), fixed "
        "(one look at the planned sample) or bayesian (chance to beat control; not for "
        "bandits). Fixed once the experiment has started.",
    )
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
            "method",
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


# --- the plan (read only; documents `GET /experiments/{id}/plan/`) ---------------------------

PLAN_SOURCES = [("rollups", "rollups"), ("default", "default")]


class PlanArmSerializer(serializers.Serializer):
    key = serializers.CharField()
    share = serializers.FloatField(help_text="The arm's normalised weight.")
    units_per_day = serializers.FloatField()


class PlanHorizonSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    units_per_arm = serializers.FloatField()
    minimum_detectable_effect = serializers.FloatField(
        allow_null=True,
        help_text="The smallest relative lift (0.05 = +5 %) detected with 80 % power; null "
        "when none is detectable with so few units.",
    )


class PlanLiftSerializer(serializers.Serializer):
    lift = serializers.FloatField(help_text="A true relative lift (0.05 = +5 %).")
    units_per_arm = serializers.IntegerField(allow_null=True)
    days = serializers.IntegerField(allow_null=True, help_text="null: no traffic enters.")


class PlanSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=ExperimentMethod.choices)
    planned_as = serializers.ChoiceField(
        choices=[("sequential", "sequential"), ("fixed", "fixed")],
        help_text="The test the figures assume (bayesian experiments: fixed).",
    )
    alpha = serializers.FloatField()
    power = serializers.FloatField()
    tuning = serializers.IntegerField(help_text="The experiment's planned sample per arm.")
    metric = serializers.CharField(allow_null=True, help_text="The primary metric's key.")
    baseline_mean = serializers.FloatField()
    baseline_variance = serializers.FloatField()
    baseline_units = serializers.IntegerField(help_text="0 when the baseline is the default.")
    baseline_from = serializers.ChoiceField(choices=PLAN_SOURCES)
    slot_units_per_day = serializers.FloatField()
    traffic_from = serializers.ChoiceField(choices=PLAN_SOURCES)
    days_observed = serializers.IntegerField()
    audience_share = serializers.FloatField(allow_null=True, help_text="null: unknown (1 used).")
    coverage = serializers.FloatField()
    layer_share = serializers.FloatField()
    units_per_day = serializers.FloatField(help_text="Units entering the experiment a day.")
    arms = PlanArmSerializer(many=True)
    compared_units_per_day = serializers.FloatField(
        help_text="Units per arm a day of the weakest comparison with control, as an equal "
        "split (harmonic mean of the two arms' units)."
    )
    horizons = PlanHorizonSerializer(many=True)
    lifts = PlanLiftSerializer(many=True)
    window = serializers.ListField(
        child=serializers.DateField(), help_text="First and last day of rollups read."
    )
    notes = serializers.ListField(child=serializers.CharField())
