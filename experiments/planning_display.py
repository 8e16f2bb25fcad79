"""How the experiment change page words its plan (`experiments.selectors.planning`): plain
sentences and formatted figures only; every number comes from the plan."""

from __future__ import annotations

from typing import TypedDict

from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from experiments.analysis import METHOD_WORDS
from experiments.results_display import NONE, fmt_share
from experiments.selectors.planning import ExperimentPlan


class PlanLine(TypedDict):
    label: str
    value: str


def _units(value: float) -> str:
    return f"{value:,.0f}"


def _mde(value: float | None) -> str:
    if value is None:
        return gettext("none: too few units")
    return f"±{value * 100:.1f} %"


def plan_lines(plan: ExperimentPlan) -> list[PlanLine]:
    lines: list[PlanLine] = []
    source = (
        gettext("measured over %(days)d days") % {"days": plan.days_observed}
        if plan.traffic_from == "rollups"
        else gettext("assumed")
    )
    lines.append(
        {
            "label": gettext("Visitors of the slot a day"),
            "value": f"{_units(plan.slot_units_per_day)} ({source})",
        }
    )
    lines.append(
        {
            "label": gettext("Audience's share"),
            "value": fmt_share(plan.audience_share)
            if plan.audience_share is not None
            else gettext("everyone (unknown or no audience)"),
        }
    )
    lines.append(
        {
            "label": gettext("Coverage, and share of the layer"),
            "value": f"{fmt_share(plan.coverage)}, {fmt_share(plan.layer_share)}",
        }
    )
    per_arm = ", ".join(f"{a.key} {_units(a.units_per_day)}" for a in plan.arms) or NONE
    lines.append(
        {
            "label": gettext("Units entering a day"),
            "value": gettext("%(total)s (per arm: %(arms)s)")
            % {"total": _units(plan.units_per_day), "arms": per_arm},
        }
    )
    for h in plan.horizons:
        lines.append(
            {
                "label": gettext("Smallest detectable lift after %(days)d days") % {"days": h.days},
                "value": _mde(h.minimum_detectable_effect),
            }
        )
    for lift in plan.lifts:
        if lift.days is None:
            value = gettext("never at this traffic")
        else:
            value = gettext("%(days)s days (%(units)s units per arm)") % {
                "days": f"{lift.days:,}",
                "units": _units(lift.units_per_arm or 0),
            }
        label = gettext("Days to detect a +%(lift)d %% lift") % {"lift": round(lift.lift * 100)}
        lines.append({"label": label, "value": value})
    return lines


def plan_summary(plan: ExperimentPlan, *, metric_name: str | None) -> str:
    baseline = (
        gettext("measured on %(units)s exposures") % {"units": _units(plan.baseline_units)}
        if plan.baseline_from == "rollups"
        else gettext("assumed")
    )
    return gettext(
        "Planned for %(power)d %% power with %(method)s at a %(confidence)s %% level, on "
        "%(metric)s: baseline mean %(mean)s, %(baseline)s."
    ) % {
        "power": round(plan.power * 100),
        "method": METHOD_WORDS[plan.planned_as],
        "confidence": f"{(1 - plan.alpha) * 100:g}",
        "metric": metric_name or gettext("no primary metric"),
        "mean": f"{plan.baseline_mean:,.4g}",
        "baseline": baseline,
    }


def render_plan(plan: ExperimentPlan, *, metric_name: str | None) -> SafeString:
    return render_to_string(
        "admin/experiments/experiment/planning.html",
        {
            "summary": plan_summary(plan, metric_name=metric_name),
            "lines": plan_lines(plan),
            "notes": plan.notes,
        },
    )
