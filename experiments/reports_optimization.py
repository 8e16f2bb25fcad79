"""How the admin shows an optimization's report: the summary cards, the chart specification
the static script draws (experiments/results.js, "band" charts), the leaves table, the model
versions and the CSV rows. It only formats an `OptimizationReport` (filled by
`experiments.selectors.optimization_report`): no statistics are computed here."""

from __future__ import annotations

from typing import TypedDict

from experiments.policy.report import LeafDescription, Lift, Period, PolicyReport, Rate, Summary
from experiments.results_display import NONE, ChartSpec, Series, fmt_share
from experiments.selectors.optimization_report import OptimizationReport

CSV_FIGURES = ("policy", "holdout", "best")
CSV_LIFTS = ("lift_over_holdout", "lift_over_best")


class Card(TypedDict):
    id: str
    title: str
    rate: str
    interval: str
    detail: str


class LiftCard(TypedDict):
    id: str
    title: str
    value: str
    interval: str
    significant: bool
    better: bool


class LeafArm(TypedDict):
    name: str
    probability: str
    rate: str
    top: bool


class LeafRow(TypedDict):
    sentence: str
    decisions: str
    top: str
    arms: list[LeafArm]


def fmt_interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return NONE
    return f"[{fmt_share(low)}, {fmt_share(high)}]"


def fmt_points(value: float | None) -> str:
    """A difference of rates, in percentage points."""
    return NONE if value is None else f"{value * 100:+.2f} pts"


def summary_cards(data: OptimizationReport) -> list[Card]:
    overall = data.report.overall
    best_name = data.arm_names.get(data.report.best_arm or "", data.report.best_arm or NONE)
    return [
        Card(
            id="policy",
            title="Policy",
            rate=fmt_share(overall.policy.value),
            interval=fmt_interval(overall.policy.ci_low, overall.policy.ci_high),
            detail=f"{overall.policy.n:,} decisions by the model",
        ),
        Card(
            id="holdout",
            title="Random holdout",
            rate=fmt_share(overall.holdout.value),
            interval=fmt_interval(overall.holdout.ci_low, overall.holdout.ci_high),
            detail=f"{overall.holdout.n:,} decisions at random",
        ),
        Card(
            id="best",
            title=f"Best single variant: {best_name}",
            rate=fmt_share(overall.best.value),
            interval=fmt_interval(overall.best.ci_low, overall.best.ci_high),
            detail=f"estimated from all {overall.best.n:,} decisions",
        ),
    ]


def _lift_card(id_: str, title: str, lift: Lift | None) -> LiftCard:
    return LiftCard(
        id=id_,
        title=title,
        value=fmt_points(lift.value if lift else None),
        interval=NONE
        if lift is None
        else f"[{fmt_points(lift.ci_low)}, {fmt_points(lift.ci_high)}]",
        significant=lift is not None and lift.significant,
        better=lift is not None and lift.ci_low > 0,
    )


def lift_cards(data: OptimizationReport) -> list[LiftCard]:
    overall = data.report.overall
    return [
        _lift_card("lift-holdout", "Lift over the random holdout", overall.lift_over_holdout),
        _lift_card("lift-best", "Lift over the best single variant", overall.lift_over_best),
    ]


def _series(label: str, periods: list[Period], pick: str) -> Series:
    rates: list[Rate] = [getattr(p.cumulative, pick) for p in periods]

    def pct(v: float | None) -> float | None:
        return None if v is None else round(v * 100, 4)

    return Series(
        label=label,
        data=[pct(r.value) for r in rates],
        low=[pct(r.ci_low) for r in rates],
        high=[pct(r.ci_high) for r in rates],
    )


def rate_chart(data: OptimizationReport) -> ChartSpec | None:
    """The cumulative goal rate of the policy, the holdout and the best single variant."""
    periods = data.report.periods
    if not periods:
        return None
    best = data.arm_names.get(data.report.best_arm or "", data.report.best_arm or "")
    return ChartSpec(
        id="optimization-chart",
        kind="band",
        title=f"Cumulative goal rate ({data.optimization.goal.name}) with its 95 % interval",
        labels=[p.label for p in periods],
        percent=True,
        series=[
            _series("Policy", periods, "policy"),
            _series("Random holdout", periods, "holdout"),
            _series(f"Best single variant ({best})", periods, "best"),
        ],
    )


def leaf_rows(leaves: list[LeafDescription]) -> list[LeafRow]:
    rows: list[LeafRow] = []
    for leaf in leaves:
        top = next(a for a in leaf.arms if a.arm == leaf.top_arm)
        rows.append(
            LeafRow(
                sentence=leaf.sentence,
                decisions=NONE if leaf.decisions is None else f"{leaf.decisions:,}",
                top=top.name,
                arms=[
                    LeafArm(
                        name=a.name,
                        probability=fmt_share(a.probability),
                        rate=fmt_share(a.rate),
                        top=a.arm == leaf.top_arm,
                    )
                    for a in leaf.arms
                ],
            )
        )
    return rows


def _csv_summary(summary: Summary) -> list[object]:
    row: list[object] = []
    for name in CSV_FIGURES:
        rate: Rate = getattr(summary, name)
        row += [rate.value, rate.ci_low, rate.ci_high, rate.n]
    for name in CSV_LIFTS:
        lift: Lift | None = getattr(summary, name)
        row += [None, None, None] if lift is None else [lift.value, lift.ci_low, lift.ci_high]
    return row


def csv_header() -> list[str]:
    figures: list[str] = []
    for name in CSV_FIGURES:
        figures += [f"{name}_rate", f"{name}_ci_low", f"{name}_ci_high", f"{name}_n"]
    for name in CSV_LIFTS:
        figures += [name, f"{name}_ci_low", f"{name}_ci_high"]
    return [
        "period",
        "first_decision",
        "last_decision",
        "decisions",
        "best_arm",
        *figures,
        *(f"cumulative_{f}" for f in figures),
    ]


def csv_rows(report: PolicyReport) -> list[list[object]]:
    """Per period: its own figures, then the cumulative ones (raw numbers, header first)."""
    rows: list[list[object]] = [csv_header()]
    for p in report.periods:
        rows.append(
            [
                p.label,
                p.start.isoformat(),
                p.end.isoformat(),
                p.decisions,
                report.best_arm or "",
                *_csv_summary(p.period),
                *_csv_summary(p.cumulative),
            ]
        )
    return [["" if v is None else v for v in row] for row in rows]
