"""One-to-one optimization of a placement or screen: the goal, the eligible variants and the
features a contextual-bandit policy may read (`Optimization`, `OptimizationArm`); every model
version trained for it, with its training window, features, compiled tables and quality
(`PolicyVersion`); and the decisions delivery logged, with their propensities, that training
and the reports read (`PolicyDecision`).

The policy itself (training, compiled tables, serving, off-policy evaluation) is the pure
package `experiments.policy`; this module only stores what it needs and produces.

The slot, goal and variants an optimization uses are RESTRICT, not PROTECT: they cannot be
deleted on their own while it uses them, but deleting the whole site (which cascades to
both) goes through.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from experiments.models.experiments import KEY_HELP, SHARE_VALIDATORS, ServesVariant, SlotTarget
from tenancy.models import SiteScopedModel

OptimizationStatusName = Literal["draft", "running", "paused", "stopped"]
PolicyVersionStatusName = Literal["live", "candidate", "rejected", "retired"]
PromotionRuleName = Literal["superior", "not_worse"]

# A holdout above half the traffic would make the optimization mostly random.
MAX_HOLDOUT_SHARE = 0.5


class OptimizationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class PromotionRule(models.TextChoices):
    SUPERIOR = "superior", "Shown better than the live model"
    NOT_WORSE = "not_worse", "Better by the estimate and not shown worse than the margin"


class Optimization(SlotTarget, SiteScopedModel):
    """A slot whose variant a learnt policy picks per visitor, to maximise a goal metric,
    with a random-allocation holdout it is always measured against."""

    key = models.SlugField(max_length=100, help_text=KEY_HELP)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    placement = models.ForeignKey(
        "content.Placement",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="optimizations",
    )
    screen = models.ForeignKey(
        "content.Screen",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="optimizations",
    )
    goal = models.ForeignKey(
        "analytics.Metric",
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="The conversion metric the policy maximises (a visitor's reward is 1 if they "
        "converted within the metric's window after the decision).",
    )
    features = models.JSONField(
        default=list,
        blank=True,
        help_text="What the model may read of a visitor: a list of feature declarations "
        '(e.g. {"kind": "category", "field": "context.device_type"}, {"kind": "hour", '
        '"field": "context.local_time"}, {"kind": "segment", "segment": "loyal"}, '
        '{"kind": "recency"}).',
    )
    holdout_share = models.FloatField(
        default=0.10,
        validators=[MinValueValidator(0.0), MaxValueValidator(MAX_HOLDOUT_SHARE)],
        help_text="Share of visitors given a variant at random: the baseline the policy is "
        "measured against (0-0.5).",
    )
    floor = models.FloatField(
        default=0.02,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Exploration floor: the smallest probability any eligible variant keeps for "
        "every kind of visitor, so the policy keeps learning.",
    )
    seed = models.CharField(
        max_length=100,
        blank=True,
        help_text="Hash seed of the draws; empty: the key. It belongs to the optimization, "
        "not to a model version, so retraining moves few visitors.",
    )
    status = models.CharField(
        max_length=16, choices=OptimizationStatus.choices, default=OptimizationStatus.DRAFT
    )
    training_window_days = models.PositiveIntegerField(
        default=28,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Train on the decisions of the last N days.",
    )
    retrain_every = models.PositiveIntegerField(
        default=5000,
        validators=[MinValueValidator(100)],
        help_text="Train a new model once this many decisions have been logged since the last "
        "training (checked by the scheduled task).",
    )
    max_depth = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(8)],
        help_text="Depth of the policy tree: more depth, finer kinds of visitor.",
    )
    min_leaf = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(20)],
        help_text="Decisions each kind of visitor (leaf of the policy tree) needs at least.",
    )
    promotion_rule = models.CharField(
        max_length=16, choices=PromotionRule.choices, default=PromotionRule.NOT_WORSE
    )
    promotion_margin = models.FloatField(
        default=0.02,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="For the not-worse rule: how much worse (in goal-rate units, 0.02 = 2 "
        "points) the lower bound of the new model's difference may be.",
    )
    live_version = models.ForeignKey(
        "PolicyVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The model serving now; none: every eligible variant equally likely.",
    )
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_trained_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "key"], name="unique_optimization_key_per_site"
            ),
            models.CheckConstraint(
                condition=Q(placement__isnull=True, screen__isnull=False)
                | Q(placement__isnull=False, screen__isnull=True),
                name="optimization_exactly_one_slot",
                violation_error_message="Choose exactly one target: a placement or a screen.",
            ),
        ]
        indexes = [models.Index(fields=["site", "status"], name="optimization_site_status")]

    def clean(self) -> None:
        errors = self.slot_errors("goal")
        if errors:
            raise ValidationError(errors)


class OptimizationArm(ServesVariant):
    """One eligible variant of an optimized slot."""

    optimization = models.ForeignKey(Optimization, on_delete=models.CASCADE, related_name="arms")
    key = models.SlugField(max_length=100, help_text=KEY_HELP)

    class Meta:
        ordering = ["optimization", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["optimization", "key"], name="unique_optimization_arm_key"
            ),
            models.CheckConstraint(
                condition=Q(content_variant__isnull=True, design_variant__isnull=False)
                | Q(content_variant__isnull=False, design_variant__isnull=True),
                name="optimization_arm_one_variant",
                violation_error_message="An eligible arm serves exactly one variant.",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class PolicyVersionStatus(models.TextChoices):
    LIVE = "live", "Live"
    CANDIDATE = "candidate", "Candidate"
    REJECTED = "rejected", "Rejected by the promotion gate"
    RETIRED = "retired", "Retired (was live)"


class PolicyVersion(models.Model):
    """One trained model of an optimization, kept whether or not it went live."""

    optimization = models.ForeignKey(
        Optimization, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=PolicyVersionStatus.choices, default=PolicyVersionStatus.CANDIDATE
    )
    trained_at = models.DateTimeField()
    window_start = models.DateTimeField(help_text="First decision time read by training.")
    window_end = models.DateTimeField(help_text="Last decision time read by training.")
    decisions = models.PositiveIntegerField(default=0, help_text="Decisions trained on.")
    rewarded = models.PositiveIntegerField(default=0, help_text="Of which converted.")
    held_out = models.PositiveIntegerField(
        default=0, help_text="Decisions kept aside for the promotion gate."
    )
    features = models.JSONField(default=list, help_text="The feature declarations trained on.")
    policy = models.JSONField(help_text="The compiled policy (tables), as served.")
    quality = models.JSONField(
        default=dict,
        blank=True,
        help_text="The promotion gate's figures: off-policy estimates of this model and of the "
        "live one on held-out decisions, their difference and the verdict.",
    )
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["optimization", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["optimization", "number"], name="unique_policy_version_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.optimization} v{self.number}"


class PolicyDecision(SiteScopedModel):
    """A unit's first decision under one model version of an optimization (version 0: the
    uniform policy it starts with): what the policy read, the arm drawn and its probability.
    Training pairs it with the goal outcome in the metric's window after `decided_at`."""

    optimization = models.ForeignKey(
        Optimization, on_delete=models.CASCADE, related_name="decisions"
    )
    version = models.PositiveIntegerField()
    unit_id = models.CharField(max_length=255)
    arm_key = models.SlugField(max_length=100)
    propensity = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Probability the unit had of getting this arm.",
    )
    holdout = models.BooleanField(default=False, help_text="Drawn by the random holdout.")
    features = models.JSONField(
        default=dict, blank=True, help_text="The values the policy read (by feature name)."
    )
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["optimization", "version", "unit_id"],
                name="unique_policy_decision_per_version",
            )
        ]
        indexes = [
            models.Index(fields=["optimization", "decided_at"], name="policy_decision_time"),
            models.Index(fields=["site", "unit_id"], name="policy_decision_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} → {self.arm_key}"


__all__ = [
    "MAX_HOLDOUT_SHARE",
    "SHARE_VALIDATORS",
    "Optimization",
    "OptimizationArm",
    "OptimizationStatus",
    "OptimizationStatusName",
    "PolicyDecision",
    "PolicyVersion",
    "PolicyVersionStatus",
    "PolicyVersionStatusName",
    "PromotionRule",
    "PromotionRuleName",
]
