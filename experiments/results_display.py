"""How the admin shows an experiment's results: the rows of the arm x metric table (and of
its CSV export), the sample-ratio banner's counts, the chart specifications the static
script draws, and the guidance badge of the experiment list.

Everything here reads an `experiments.reports.ExperimentReport` (filled by
`experiments.selectors.results`) and only formats it: no statistics are computed here, so
the page, its CSV and the API can never disagree on a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal, TypedDict

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from analytics.selectors.reports import MIN_SAMPLE
from experiments.analysis import METHOD_WORDS, Analysis, Cell, Correction, Guidance
from experiments.reports import ExperimentReport, PersonalizationLift

GUIDANCE_LABELS: dict[Guidance, str] = {
    "ship": _("Ship"),
    "keep_running": _("Keep running"),
    "stop_for_harm": _("Stop: harm"),
    "no_effect": _("No effect"),
    "check_split": _("Check the split"),
}
CORRECTION_LABELS: dict[Correction, str] = {
    "none": _("none"),
    "benjamini_hochberg": _("Benjamini-Hochberg"),
    "holm": _("Holm"),
}
CORRECTION_WORDS: dict[Correction, str] = {
    "none": _("The primary metric is the one decision metric: its p-value is not corrected."),
    "benjamini_hochberg": _(
        "Secondary metrics: p-values adjusted by Benjamini-Hochberg across secondary "
        "metrics x arms (controls the share of false discoveries)."
    ),
    "holm": _(
        "Guardrails: p-values adjusted by Holm across guardrails x arms (controls the "
        "chance of any false alarm)."
    ),
}
ROLE_LABELS = {"primary": _("primary"), "secondary": _("secondary"), "guardrail": _("guardrail")}
ROLE_ORDER = {"primary": 0, "secondary": 1, "guardrail": 2}
ESTIMATOR_WORDS = {
    "hajek": _("inverse-propensity weighting (Hájek), because a bandit's weights change"),
    "horvitz_thompson": _(
        "inverse-propensity weighting (Horvitz-Thompson), because a bandit's weights change"
    ),
}
NONE = "\N{EN DASH}"  # what a missing figure shows
# Below this many units in an arm the page says the figures are too small to read (the same
# threshold as the analytics reports' "too small to matter").
MIN_UNITS = MIN_SAMPLE

CSV_HEADERS = (
    "phase",
    "arm",
    "metric",
    "role",
    "control_mean",
    "arm_mean",
    "effect",
    "effect_scale",
    "ci_low",
    "ci_high",
    "p_value",
    "adjusted_p_value",
    "correction",
    "significant",
    "better",
    "chance_to_win",
    "expected_loss",
    "note",
)


class ResultRow(TypedDict):
    arm: str
    arm_name: str
    metric: str
    metric_name: str
    role: str
    role_label: str
    control_mean: str
    arm_mean: str
    effect: str
    interval: str
    p_value: str
    adjusted_p_value: str
    correction: str
    significant: bool
    better: bool | None
    chance_to_win: str
    expected_loss: str
    error: str | None


class SrmRow(TypedDict):
    cell: str
    observed: str
    expected: str


class Series(TypedDict, total=False):
    label: str
    data: list[float | None]
    low: list[float | None]
    high: list[float | None]


class ChartSpec(TypedDict):
    id: str
    kind: Literal["band", "stacked"]
    title: str
    labels: list[str]
    percent: bool
    series: list[Series]


def fmt_number(value: float | None) -> str:
    return NONE if value is None else f"{value:,.4g}"


def fmt_effect(value: float | None, *, relative: bool) -> str:
    if value is None:
        return NONE
    return f"{value * 100:+.2f} %" if relative else f"{value:+.4g}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return NONE
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def fmt_share(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f} %"


def _ordered(analysis: Analysis, arm_order: Sequence[str]) -> list[Cell]:
    position = {key: i for i, key in enumerate(arm_order)}
    return sorted(
        analysis.cells,
        key=lambda c: (position.get(c.arm, len(position)), ROLE_ORDER.get(c.role, 3)),
    )


def result_rows(
    report: ExperimentReport, *, metric_names: Mapping[str, str] | None = None
) -> list[ResultRow]:
    """One row per treatment arm x metric (none while the sample-ratio check hides them)."""
    names = {a.key: a.name or a.key for a in report.arms}
    metric_names = metric_names or {}
    rows: list[ResultRow] = []
    for c in _ordered(report.analysis, [a.key for a in report.arms]):
        interval = NONE
        if c.ci_low is not None and c.ci_high is not None:
            low = fmt_effect(c.ci_low, relative=c.relative)
            high = fmt_effect(c.ci_high, relative=c.relative)
            interval = f"[{low}, {high}]"
        rows.append(
            ResultRow(
                arm=c.arm,
                arm_name=names.get(c.arm, c.arm),
                metric=c.metric,
                metric_name=metric_names.get(c.metric, c.metric),
                role=c.role,
                role_label=str(ROLE_LABELS.get(c.role, c.role)),
                control_mean=fmt_number(c.control_mean),
                arm_mean=fmt_number(c.treatment_mean),
                effect=fmt_effect(c.effect, relative=c.relative),
                interval=interval,
                p_value=fmt_p(c.p_value),
                adjusted_p_value=fmt_p(c.adjusted_p_value),
                correction=str(CORRECTION_LABELS.get(c.correction, c.correction)),
                significant=c.significant,
                better=c.better,
                chance_to_win=fmt_share(c.chance_to_win),
                expected_loss=fmt_effect(c.expected_loss, relative=c.relative)
                if c.expected_loss is not None
                else NONE,
                error=c.error,
            )
        )
    return rows


def csv_rows(report: ExperimentReport) -> list[list[object]]:
    """The table as CSV rows (header first): raw numbers, not the page's rounded text."""
    rows: list[list[object]] = [list(CSV_HEADERS)]
    for c in _ordered(report.analysis, [a.key for a in report.arms]):
        rows.append(
            [
                report.phase,
                c.arm,
                c.metric,
                c.role,
                c.control_mean,
                c.treatment_mean,
                c.effect,
                "relative" if c.relative else "absolute",
                c.ci_low,
                c.ci_high,
                c.p_value,
                c.adjusted_p_value,
                c.correction,
                c.significant,
                c.better,
                c.chance_to_win,
                c.expected_loss,
                c.error or "",
            ]
        )
    return [["" if v is None else v for v in row] for row in rows]


def srm_rows(report: ExperimentReport) -> list[SrmRow]:
    """Observed against expected units per cell of the split, in the order they were checked:
    the arms, then the global holdout when the selector checked it too."""
    srm = report.analysis.srm
    labels = [a.name or a.key for a in report.arms]
    rows: list[SrmRow] = []
    for i, (observed, expected) in enumerate(zip(srm.observed, srm.expected, strict=False)):
        label = labels[i] if i < len(labels) else gettext("global holdout")
        rows.append(SrmRow(cell=label, observed=f"{observed:,.0f}", expected=f"{expected:,.0f}"))
    return rows


def too_few_units(report: ExperimentReport) -> bool:
    if report.analysis.srm.status == "too_few_units":
        return True
    return any(a.units < MIN_UNITS for a in report.arms)


def method_words(analysis: Analysis) -> str:
    words = METHOD_WORDS.get(analysis.method, analysis.method)
    if analysis.estimator in ESTIMATOR_WORDS:
        return f"{words}; {ESTIMATOR_WORDS[analysis.estimator]}"
    return words


def corrections_used(analysis: Analysis) -> list[str]:
    used = {c.correction for c in analysis.cells if c.error is None}
    return [str(CORRECTION_WORDS[k]) for k in ("none", "benjamini_hochberg", "holm") if k in used]


def guidance_label(analysis: Analysis, *, arm_names: Mapping[str, str] | None = None) -> str:
    label = str(GUIDANCE_LABELS.get(analysis.guidance, analysis.guidance))
    if analysis.guidance == "ship" and analysis.winner:
        winner = (arm_names or {}).get(analysis.winner, analysis.winner)
        return f"{label}: {winner}"
    return label


def _days(values: Sequence[date]) -> list[date]:
    return sorted(set(values))


def effect_chart(report: ExperimentReport, *, primary_name: str) -> ChartSpec | None:
    """The primary metric's cumulative effect per treatment arm with its interval band."""
    if not report.daily_effects or report.analysis.hidden:
        return None
    relative = next(
        (c.relative for c in report.analysis.cells if c.role == "primary"),
        True,
    )
    scale = 100.0 if relative else 1.0
    days = _days([d.day for d in report.daily_effects])
    index = {day: i for i, day in enumerate(days)}
    series: list[Series] = []
    for arm in report.arms:
        points = [d for d in report.daily_effects if d.arm == arm.key]
        if arm.is_control or not points:
            continue
        data: list[float | None] = [None] * len(days)
        low: list[float | None] = [None] * len(days)
        high: list[float | None] = [None] * len(days)
        for d in points:
            i = index[d.day]
            data[i] = None if d.effect is None else d.effect * scale
            low[i] = None if d.ci_low is None else d.ci_low * scale
            high[i] = None if d.ci_high is None else d.ci_high * scale
        series.append(Series(label=arm.name or arm.key, data=data, low=low, high=high))
    if not series:
        return None
    title = gettext("Cumulative effect on %(metric)s (%(scale)s) with its interval") % {
        "metric": primary_name,
        "scale": gettext("relative, %") if relative else gettext("difference"),
    }
    return ChartSpec(
        id="effect-chart",
        kind="band",
        title=title,
        labels=[d.isoformat() for d in days],
        percent=relative,
        series=series,
    )


def allocation_chart(report: ExperimentReport) -> ChartSpec | None:
    """Each day's new units split by arm, as stacked shares."""
    if not report.daily_allocation:
        return None
    days = _days([d.day for d in report.daily_allocation])
    index = {day: i for i, day in enumerate(days)}
    keys = [a.key for a in report.arms]
    keys += sorted({d.arm for d in report.daily_allocation} - set(keys))
    names = {a.key: a.name or a.key for a in report.arms}
    shares: dict[str, list[float | None]] = {k: [0.0] * len(days) for k in keys}
    for d in report.daily_allocation:
        shares[d.arm][index[d.day]] = round(d.share * 100, 3)
    return ChartSpec(
        id="allocation-chart",
        kind="stacked",
        title=gettext("Allocation over time (share of each day's new units)"),
        labels=[d.isoformat() for d in days],
        percent=True,
        series=[Series(label=names.get(k, k), data=shares[k]) for k in keys],
    )


class LiftCard(TypedDict):
    site: str
    metric: str
    holdout: str
    personalized: str
    effect: str
    interval: str
    p_value: str
    significant: bool


def lift_card(*, site_name: str, lift: PersonalizationLift, alpha: float = 0.05) -> LiftCard:
    interval = NONE
    if lift.ci_low is not None and lift.ci_high is not None:
        low, high = (fmt_effect(v, relative=True) for v in (lift.ci_low, lift.ci_high))
        interval = f"[{low}, {high}]"
    return LiftCard(
        site=site_name,
        metric=lift.metric,
        holdout=gettext("%(mean)s over %(units)s units")
        % {"mean": fmt_number(lift.holdout_mean), "units": f"{lift.holdout_units:,}"},
        personalized=gettext("%(mean)s over %(units)s units")
        % {"mean": fmt_number(lift.personalized_mean), "units": f"{lift.personalized_units:,}"},
        effect=fmt_effect(lift.effect, relative=True),
        interval=interval,
        p_value=fmt_p(lift.p_value),
        significant=lift.p_value is not None and lift.p_value < alpha,
    )
