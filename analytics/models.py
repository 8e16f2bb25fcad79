"""Analytics' data: metrics (goals) per site, the daily rollups reports read, and each
site's rollup watermark. Rollups hold counts and sums only, never a row per person."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenancy.models import Site, SiteScopedModel

KEY_HELP = _("Letters, digits, - and _; used in the API and in experiment configurations.")


class MetricKind(models.TextChoices):
    CONVERSION = "conversion", _("Conversion (did the event happen)")
    COUNT = "count", _("Count of events")
    SUM = "sum", _("Sum of a property (e.g. revenue)")
    RATIO = "ratio", _("Ratio of two metrics")


class CapKind(models.TextChoices):
    NONE = "none", _("No capping")
    VALUE = "value", _("Cap each visitor's value at a fixed number")
    PERCENTILE = "percentile", _("Cap each visitor's value at a percentile of the day's values")


class Metric(SiteScopedModel):
    """A goal: what counts as success after a visitor saw a variant.

    The per-visitor value is defined once, in `analytics.metrics` (pure), and read by the
    rollups, the reports and experiments alike."""

    key = models.SlugField(max_length=100, help_text=KEY_HELP, verbose_name=_("key"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    kind = models.CharField(max_length=16, choices=MetricKind.choices, verbose_name=_("kind"))
    event = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("The event name counted (not for ratios)."),
        verbose_name=_("event"),
    )
    where = models.JSONField(
        null=True,
        blank=True,
        help_text=_(
            'Property filter in the criteria language, e.g. {"all": [{"field": '
            '"properties.category", "op": "eq", "value": "shoes"}]}.'
        ),
        verbose_name=_("where"),
    )
    property = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("The numeric event property summed (sum only)."),
        verbose_name=_("property"),
    )
    window_days = models.PositiveIntegerField(
        default=7,
        help_text=_("Events count within this many days after the exposure."),
        verbose_name=_("window days"),
    )
    cap = models.CharField(
        max_length=16, choices=CapKind.choices, default=CapKind.NONE, verbose_name=_("cap")
    )
    cap_value = models.FloatField(
        null=True,
        blank=True,
        help_text=_("The cap, or the percentile (e.g. 99) to cap at."),
        verbose_name=_("cap value"),
    )
    numerator = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        verbose_name=_("numerator"),
    )
    denominator = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        verbose_name=_("denominator"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["site", "key"]
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_metric_key_per_site")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from analytics.selectors.metrics import metric_definition_errors

        errors = metric_definition_errors(metric=self)
        if errors:
            raise ValidationError(errors)


class RollupDimensions(models.Model):
    """One day of one slot's variant, shown for one reason, to everyone (`segment` "") or
    to the members of one segment."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    slot = models.CharField(max_length=100)
    variant = models.CharField(max_length=100)
    reason = models.CharField(max_length=16)
    reason_key = models.CharField(max_length=201, blank=True, default="")
    segment = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        who = f" [{self.segment}]" if self.segment else ""
        return f"{self.day} {self.slot}/{self.variant}{who}"


class VariantDay(RollupDimensions):
    """Traffic of a variant on a day: impressions, unique visitors and clicks."""

    impressions = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "day", "slot", "variant", "reason", "reason_key", "segment"],
                name="unique_variant_day",
            )
        ]
        indexes = [models.Index(fields=["site", "segment", "day"], name="variantday_site_seg_day")]


class MetricDay(RollupDimensions):
    """A metric's sufficient statistics over the visitors exposed on a day.

    n visitors, how many had a non-zero value, Σy and Σy² (after capping); for ratios also
    the denominator's Σ and Σ² and Σ numerator * denominator (the delta method's inputs)."""

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+")
    n = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    total = models.FloatField(default=0.0)
    total_sq = models.FloatField(default=0.0)
    den_total = models.FloatField(default=0.0)
    den_total_sq = models.FloatField(default=0.0)
    cross_total = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "site",
                    "day",
                    "slot",
                    "variant",
                    "reason",
                    "reason_key",
                    "segment",
                    "metric",
                ],
                name="unique_metric_day",
            )
        ]
        indexes = [models.Index(fields=["site", "metric", "day"], name="metricday_site_metric_day")]


class SegmentSizeDay(models.Model):
    """A segment's member count, taken once a day."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    segment = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "day", "segment"], name="unique_segment_day")
        ]

    def __str__(self) -> str:
        return f"{self.segment} on {self.day}: {self.size}"


class RollupState(models.Model):
    """Where a site's incremental rollups stand: events received up to `watermark` are in."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="+")
    watermark = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollups of site {self.site_id} up to {self.watermark}"


class Report(models.Model):
    """No table: the admin's "Reports" entry, which opens the analytics dashboard."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return "Reports"


class PredictiveStatus(models.TextChoices):
    DRAFT = "draft", _("Draft (never trained)")
    READY = "ready", _("Trained")
    NOT_ENOUGH_DATA = "not_enough_data", _("Not enough data")
    FAILED = "failed", _("Training failed")


class PredictiveModel(SiteScopedModel):
    """A per-site prediction of a goal within `horizon_days`: the probability that a person
    does the goal (a conversion metric or an event name) in the next N days, or with `churn`
    that they do NOT (no goal event, or with no goal at all no event of any kind).

    Once enabled, each profile's score is kept at `traits.predicted.<name>` and the field
    `profile.predicted.<name>` is in the site's catalog (docs/predictive.md)."""

    name = models.SlugField(
        max_length=50,
        help_text=_(
            "Letters, digits and _; the trait is profile.predicted.<name> (e.g. purchase_14d)."
        ),
        verbose_name=_("name"),
    )
    label = models.CharField(
        max_length=100,
        blank=True,
        help_text=_('Shown in the segment builder, e.g. "purchase within 14 days".'),
        verbose_name=_("label"),
    )
    goal_metric = models.ForeignKey(
        Metric,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text=_("A conversion metric (its event and property filter)."),
        verbose_name=_("goal metric"),
    )
    goal_event = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Or an event name. For churn, empty means any event (a visit)."),
        verbose_name=_("goal event"),
    )
    churn = models.BooleanField(
        default=False,
        help_text=_("Predict that the goal does NOT happen within the horizon."),
        verbose_name=_("churn"),
    )
    horizon_days = models.PositiveSmallIntegerField(default=14, verbose_name=_("horizon (days)"))
    enabled = models.BooleanField(
        default=False,
        help_text=_("Write scores to profiles and offer the field to segments."),
        verbose_name=_("enabled"),
    )
    status = models.CharField(
        max_length=20,
        choices=PredictiveStatus.choices,
        default=PredictiveStatus.DRAFT,
        editable=False,
        verbose_name=_("status"),
    )
    status_detail = models.CharField(
        max_length=500, blank=True, editable=False, verbose_name=_("status detail")
    )
    scored_at = models.DateTimeField(null=True, blank=True, editable=False)
    scored_profiles = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["site", "name"]
        verbose_name = _("predictive model")
        verbose_name_plural = _("predictive models")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "name"], name="unique_predictive_model_name_per_site"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from analytics.predictive.services import predictive_model_errors

        errors = predictive_model_errors(model=self)
        if errors:
            raise ValidationError(errors)


class PredictiveModelVersion(models.Model):
    """One training run: the time split, the held-out quality beside the recency-frequency
    baseline, the calibration and the fitted parameters as JSON (never pickled)."""

    model = models.ForeignKey(PredictiveModel, on_delete=models.CASCADE, related_name="versions")
    trained_at = models.DateTimeField(verbose_name=_("trained at"))
    train_cutoff = models.DateTimeField(verbose_name=_("training cutoff"))
    test_cutoff = models.DateTimeField(verbose_name=_("test cutoff"))
    horizon_days = models.PositiveSmallIntegerField()
    train_size = models.PositiveIntegerField()
    test_size = models.PositiveIntegerField()
    train_positives = models.PositiveIntegerField()
    test_positives = models.PositiveIntegerField()
    auc = models.FloatField(null=True, blank=True, verbose_name=_("held-out AUC"))
    baseline_auc = models.FloatField(null=True, blank=True, verbose_name=_("baseline AUC"))
    # [{"predicted": mean score, "observed": positive rate, "count": n}] per decile.
    calibration = models.JSONField(default=list)
    features = models.JSONField(default=list)  # feature names, in the parameters' order
    spec = models.JSONField(default=dict)  # what the features read (event names, traits…)
    params = models.JSONField(default=dict)  # means, scales, coefficients, intercept
    seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-trained_at", "-pk"]
        verbose_name = _("predictive model version")
        verbose_name_plural = _("predictive model versions")

    def __str__(self) -> str:
        return f"{self.model} @ {self.trained_at:%Y-%m-%d %H:%M}"


# Segment suggestions keep their model beside their code (analytics/suggestions/).
from analytics.suggestions.models import SuggestionRun, SuggestionRunStatus  # noqa: E402, F401
