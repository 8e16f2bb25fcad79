"""Experiments: layers (mutually exclusive experiments take disjoint slices of one hash),
experiments on one placement or screen with their arms, metrics and phases, the assignments
recorded on first exposure, and each site's global holdout.

Invariants that involve one row live here (`clean`); the ones that involve other rows (at
least two arms, disjoint layer slices, one running experiment per slot) are checked by
`experiments.services.validation`, which the admin and the API both call.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from tenancy.models import Site, SiteScopedModel

KEY_HELP = "Letters, digits, - and _; used by the delivery API in reasons and assignments."

ExperimentStatusName = Literal["draft", "running", "paused", "stopped"]
ExperimentModeName = Literal["fixed", "bandit"]
ExperimentMethodName = Literal["sequential", "fixed", "bayesian"]
MetricRoleName = Literal["primary", "secondary", "guardrail"]

# Inclusive bounds of a share of traffic.
SHARE_VALIDATORS = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class Layer(SiteScopedModel):
    """A set of mutually exclusive experiments: each takes a slice `[layer_start, layer_end)` of
    `hash_unit(layer.seed, unit)`, so a unit is in at most one experiment of the layer."""

    key = models.SlugField(max_length=100, help_text=KEY_HELP)
    name = models.CharField(max_length=200)
    seed = models.CharField(
        max_length=100,
        blank=True,
        help_text="Hash seed of the layer's slices; empty: the layer's key. Changing it "
        "reshuffles who is in which experiment of the layer.",
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "key"]
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_layer_key_per_site")
        ]

    def __str__(self) -> str:
        return self.name or self.key

    def save(self, *args, **kwargs) -> None:
        if not self.seed:
            self.seed = self.key
        super().save(*args, **kwargs)


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class ExperimentMode(models.TextChoices):
    FIXED = "fixed", "Fixed weights"
    BANDIT = "bandit", "Bandit (Thompson sampling shifts traffic to the winner)"


class ExperimentMethod(models.TextChoices):
    SEQUENTIAL = "sequential", "Sequential (confidence sequences: safe to check every day)"
    FIXED = "fixed", "Fixed horizon (t-test: read once, at the planned sample)"
    BAYESIAN = "bayesian", "Bayesian (chance to beat control and expected loss)"


# A bandit's effects are inverse-propensity weighted, which has frequentist intervals only.
BANDIT_METHODS = (ExperimentMethod.SEQUENTIAL, ExperimentMethod.FIXED)


class SlotTarget:
    """What an experiment and an optimization share: exactly one target slot (placement or
    screen), a hash seed defaulting to the key, related rows of the same site."""

    SLOT_MESSAGE = "Choose exactly one target: a placement or a screen."

    def __str__(self) -> str:
        return self.name or self.key

    def save(self, *args, **kwargs) -> None:
        if not self.seed:
            self.seed = self.key
        super().save(*args, **kwargs)

    @property
    def slot(self):
        """The placement or screen targeted."""
        return self.placement if self.placement_id else self.screen

    @property
    def slot_kind(self) -> Literal["placement", "screen"]:
        return "placement" if self.placement_id else "screen"

    def slot_errors(self, *related: str) -> dict[str, list[str]]:
        """The one-slot rule, and each of `related` (plus the slot) of this site."""
        errors: dict[str, list[str]] = {}
        if bool(self.placement_id) == bool(self.screen_id):
            errors.setdefault("placement", []).append(self.SLOT_MESSAGE)
        for name in ("placement", "screen", *related):
            value = getattr(self, name) if getattr(self, f"{name}_id") else None
            site_id = self.site_id
            if value is not None and site_id and value.site_id != site_id:
                errors.setdefault(name, []).append(f"Choose a {name} of the same site.")
        return errors


class Experiment(SlotTarget, SiteScopedModel):
    """An A/B/n test (or a bandit) on exactly one placement or screen."""

    key = models.SlugField(max_length=100, help_text=KEY_HELP)
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    layer = models.ForeignKey(
        Layer,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="experiments",
        help_text="Optional: experiments of one layer never share a visitor.",
    )
    layer_start = models.FloatField(
        default=0.0, validators=SHARE_VALIDATORS, help_text="Start of the layer slice (0..1)."
    )
    layer_end = models.FloatField(
        default=1.0, validators=SHARE_VALIDATORS, help_text="End of the layer slice (0..1)."
    )
    placement = models.ForeignKey(
        "content.Placement",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="experiments",
    )
    screen = models.ForeignKey(
        "content.Screen",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="experiments",
    )
    audience = models.ForeignKey(
        "segments.Segment",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="Only visitors in this segment take part; empty: everyone.",
    )
    coverage = models.FloatField(
        default=1.0,
        validators=SHARE_VALIDATORS,
        help_text="Share of the (audience's) visitors in the experiment, 0..1. Raising it never "
        "moves anyone already in.",
    )
    seed = models.CharField(
        max_length=100, blank=True, help_text="Hash seed of the arms; empty: the key."
    )
    status = models.CharField(
        max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT
    )
    mode = models.CharField(
        max_length=16, choices=ExperimentMode.choices, default=ExperimentMode.FIXED
    )
    method = models.CharField(
        max_length=16,
        choices=ExperimentMethod.choices,
        default=ExperimentMethod.SEQUENTIAL,
        help_text="How the results are analysed. Sequential is safe to read every day; fixed "
        "horizon only once the planned sample is reached; Bayesian gives the chance to beat "
        "control (not for bandits).",
    )
    phase = models.PositiveIntegerField(
        default=1, editable=False, help_text="The current phase; a new phase may re-bucket."
    )
    tuning = models.PositiveIntegerField(
        default=5000,
        validators=[MinValueValidator(1)],
        help_text="Planned sample per arm: the sequential test's tuning parameter (a comparison "
        "of two arms plans for twice it; a bandit for it times its number of arms).",
    )
    alpha = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0001), MaxValueValidator(0.5)],
        help_text="Significance level (0.05: 95 % intervals).",
    )
    bandit_floor = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Bandit mode: the smallest share any arm keeps.",
    )
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "key"]
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_experiment_key_per_site"),
            models.CheckConstraint(
                condition=Q(placement__isnull=True, screen__isnull=False)
                | Q(placement__isnull=False, screen__isnull=True),
                name="experiment_exactly_one_slot",
                violation_error_message="Choose exactly one target: a placement or a screen.",
            ),
        ]
        indexes = [models.Index(fields=["site", "status"], name="experiment_site_status")]

    def clean(self) -> None:
        errors = self.slot_errors("audience", "layer")
        if self.layer_start is not None and self.layer_end is not None:
            if not 0.0 <= self.layer_start < self.layer_end <= 1.0:
                errors.setdefault("layer_end", []).append(
                    "The layer slice must satisfy 0 ≤ start < end ≤ 1."
                )
            elif not self.layer_id and (self.layer_start, self.layer_end) != (0.0, 1.0):
                errors.setdefault("layer", []).append("A slice needs a layer.")
        if self.mode == ExperimentMode.BANDIT and self.method not in BANDIT_METHODS:
            errors.setdefault("method", []).append(
                "A bandit is analysed with the sequential or the fixed-horizon method."
            )
        if errors:
            raise ValidationError(errors)


class ExperimentPhase(models.Model):
    """A period during which an experiment's buckets stay put; results are per phase."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    coverage = models.FloatField(validators=SHARE_VALIDATORS)
    weights = models.JSONField(default=dict, help_text="{arm_key: weight} in this phase.")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["experiment", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "number"], name="unique_experiment_phase_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.experiment} phase {self.number}"


class ServesVariant(models.Model):
    """An arm that serves a variant of its slot: a placement's content variant or a
    screen's design (experiment arms, optimizations' eligible arms)."""

    content_variant = models.ForeignKey(
        "content.ContentVariant",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="The placement variant this arm serves.",
    )
    design_variant = models.ForeignKey(
        "content.ScreenVariant",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="The screen design this arm serves.",
    )

    class Meta:
        abstract = True

    @property
    def variant(self):
        """The variant served (None for a control arm)."""
        if self.content_variant_id:
            return self.content_variant
        if self.design_variant_id:
            return self.design_variant
        return None


class Arm(ServesVariant):
    """One branch of an experiment: a variant of the slot, or control (normal personalization,
    no override)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    key = models.SlugField(max_length=100, help_text=KEY_HELP)
    name = models.CharField(max_length=200, blank=True)
    weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0)],
        help_text="Relative share of traffic (> 0); weights are normalised.",
    )
    is_control = models.BooleanField(
        default=False, help_text="Control: the visitor gets normal personalization."
    )

    class Meta:
        ordering = ["experiment", "-is_control", "key"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="unique_arm_key"),
            models.UniqueConstraint(
                fields=["experiment"],
                condition=Q(is_control=True),
                name="one_control_arm",
                violation_error_message="At most one arm is the control.",
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0),
                name="arm_weight_positive",
                violation_error_message="Give a weight greater than 0.",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.key


class MetricRole(models.TextChoices):
    PRIMARY = "primary", "Primary (decides)"
    SECONDARY = "secondary", "Secondary"
    GUARDRAIL = "guardrail", "Guardrail (must not get worse)"


class ExperimentMetric(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="metrics")
    metric = models.ForeignKey("analytics.Metric", on_delete=models.RESTRICT, related_name="+")
    role = models.CharField(max_length=16, choices=MetricRole.choices, default=MetricRole.PRIMARY)
    cuped_days = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(365)],
        help_text="Days before exposure used by CUPED to reduce variance; 0: off.",
    )

    class Meta:
        ordering = ["experiment", "role", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "metric"], name="unique_experiment_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} ({self.role})"


class Assignment(SiteScopedModel):
    """A unit's arm in one experiment phase, recorded on first exposure; it never changes."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    phase = models.PositiveIntegerField()
    unit_id = models.CharField(max_length=255)
    arm_key = models.SlugField(max_length=100)
    probability = models.FloatField(
        help_text="Probability the unit had of getting this arm (for inverse-propensity weights)."
    )
    first_exposed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "phase", "unit_id"], name="unique_assignment_per_phase"
            )
        ]
        indexes = [
            models.Index(fields=["experiment", "phase", "arm_key"], name="assignment_arm"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} → {self.arm_key}"


class GlobalHoldout(models.Model):
    """A share of a site's visitors who always get the defaults (no targeting, no experiment),
    so the lift of all personalization can be measured against them."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="holdout")
    share = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of visitors held out (0..0.5).",
    )
    seed = models.CharField(max_length=100, default="holdout")
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "global holdout"

    def __str__(self) -> str:
        return f"Holdout of {self.site}"


# --- results: rollups of each experiment's units, by the day of their first exposure --------


class ExperimentCohort(models.Model):
    """One cohort of an experiment phase: the units first exposed on `day` (UTC). Rebuilt as a
    whole with its arms and metrics (`experiments.services.rollups`); `excluded_units` were
    seen in more than one arm and are left out of every figure."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="cohorts")
    phase = models.PositiveIntegerField()
    day = models.DateField()
    excluded_units = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["experiment", "phase", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "phase", "day"], name="unique_experiment_cohort"
            )
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id} phase {self.phase} on {self.day}"


class ExperimentArmDay(models.Model):
    """The units of one arm in one cohort, per bandit batch (batch 0 for fixed weights), with
    the probability they had of getting the arm (the mean of the logged probabilities)."""

    cohort = models.ForeignKey(ExperimentCohort, on_delete=models.CASCADE, related_name="arms")
    arm_key = models.SlugField(max_length=100)
    batch = models.PositiveIntegerField(default=0)
    propensity = models.FloatField()
    units = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "arm_key", "batch"], name="unique_experiment_arm_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort} {self.arm_key}: {self.units}"


class ExperimentMetricDay(models.Model):
    """One metric's sufficient statistics over one arm's units of a cohort (and batch): Σy,
    Σy², and Σx, Σx², Σxy of the CUPED pre-period value or of a ratio's denominator."""

    cohort = models.ForeignKey(ExperimentCohort, on_delete=models.CASCADE, related_name="metrics")
    arm_key = models.SlugField(max_length=100)
    batch = models.PositiveIntegerField(default=0)
    metric = models.ForeignKey("analytics.Metric", on_delete=models.CASCADE, related_name="+")
    n = models.PositiveIntegerField()
    total = models.FloatField(default=0.0)
    total_sq = models.FloatField(default=0.0)
    has_covariate = models.BooleanField(default=False)
    cov_total = models.FloatField(default=0.0)
    cov_total_sq = models.FloatField(default=0.0)
    cross_total = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "arm_key", "batch", "metric"], name="unique_experiment_metric_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort} {self.arm_key} {self.metric_id}: n={self.n}"


class BanditBatch(models.Model):
    """A bandit's weights from `started_at` on, within a phase: batch 0 is the phase's
    opening weights, each batch update (`experiments.services.bandits`) adds the next."""

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="bandit_batches"
    )
    phase = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    weights = models.JSONField(help_text="{arm_key: share}, summing to 1.")
    probability_best = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["experiment", "phase", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "phase", "number"], name="unique_bandit_batch"
            )
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id} phase {self.phase} batch {self.number}"


class ExperimentRollupState(models.Model):
    """Where an experiment's rollups stand: events received up to `watermark` are in."""

    experiment = models.OneToOneField(
        Experiment, on_delete=models.CASCADE, related_name="rollup_state"
    )
    watermark = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollups of experiment {self.experiment_id} up to {self.watermark}"
