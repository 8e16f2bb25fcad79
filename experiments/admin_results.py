"""The admin's experiment results: a page per experiment (phase selector, guidance, the arm x
metric table or the sample-ratio banner, charts) with its CSV export, and what the experiment
list adds (guidance badges, the lift-of-personalization cards).

Thin: the numbers come from `experiments.selectors.results`, their formatting from
`experiments.results_display`. Charts get their data through `json_script` and are drawn by
a static script, so the page runs under the site's strict Content-Security-Policy.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from experiments import results_display as display
from experiments.models import Experiment, ExperimentStatus, GlobalHoldout, MetricRole
from experiments.reports import ExperimentReport
from experiments.selectors import results as results_selectors
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user

if TYPE_CHECKING:
    from experiments.admin import ExperimentAdmin

# Lift cards computed on one list page at most: each reads a site's rollups.
MAX_LIFT_CARDS = 20


class PhaseForm(forms.Form):
    phase = forms.TypedChoiceField(
        label=_("Phase"), coerce=int, required=False, empty_value=None, choices=()
    )

    def __init__(self, *args: Any, phases: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phase"].choices = [(n, n) for n in phases]


def _metric_names(experiment: Experiment) -> dict[str, str]:
    return {em.metric.key: em.metric.name for em in experiment.metrics.select_related("metric")}


def primary_metric(experiment: Experiment) -> Any:
    """The experiment's primary analytics metric (None if it has none); uses a prefetched
    `metrics` list when the caller made one."""
    for em in experiment.metrics.all():
        if em.role == MetricRole.PRIMARY:
            return em.metric
    return None


def days_running(experiment: Experiment) -> int | None:
    if experiment.started_at is None:
        return None
    end = experiment.stopped_at or timezone.now()
    return max((end - experiment.started_at).days, 0)


def report_for(experiment: Experiment, phase: int | None = None) -> ExperimentReport | None:
    """The report, or None for a draft (never started: no phase, no data)."""
    if experiment.status == ExperimentStatus.DRAFT:
        return None
    return results_selectors.experiment_report(experiment=experiment, phase=phase)


def _csv_response(report: ExperimentReport, experiment: Experiment) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{experiment.site.slug}-{experiment.key}-phase{report.phase}-results.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerows(display.csv_rows(report))
    return response


def results_view(model_admin: ExperimentAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    # The admin's queryset is scoped to the sites the user may read (any role): another
    # site's experiment is a 404, not a 403, so its existence does not leak.
    experiment = get_object_or_404(model_admin.get_queryset(request).select_related("site"), pk=pk)
    phases = list(experiment.phases.order_by("number").values_list("number", flat=True))
    form = PhaseForm(request.GET if "phase" in request.GET else None, phases=phases)
    phase = form.cleaned_data["phase"] if form.is_bound and form.is_valid() else None
    report = report_for(experiment, phase)
    if report is not None and request.GET.get("format") == "csv":
        return _csv_response(report, experiment)

    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": gettext("Results of %(name)s") % {"name": experiment},
        "experiment": experiment,
        "form": form,
        "report": report,
        "days_running": days_running(experiment),
    }
    if report is not None:
        metric_names = _metric_names(experiment)
        arm_names = {a.key: a.name or a.key for a in report.arms}
        primary = primary_metric(experiment)
        analysis = report.analysis
        charts = [
            chart
            for chart in (
                display.effect_chart(
                    report, primary_name=primary.name if primary else gettext("primary metric")
                ),
                display.allocation_chart(report),
            )
            if chart is not None
        ]
        context.update(
            analysis=analysis,
            rows=display.result_rows(report, metric_names=metric_names),
            srm_rows=display.srm_rows(report),
            guidance_label=display.guidance_label(analysis, arm_names=arm_names),
            method_words=display.method_words(analysis),
            corrections=display.corrections_used(analysis),
            confidence=f"{(1 - analysis.alpha) * 100:.0f}",
            bayesian=analysis.method == "bayesian",
            too_few_units=display.too_few_units(report),
            min_units=display.MIN_UNITS,
            arms=[
                {
                    "name": a.name or a.key,
                    "key": a.key,
                    "is_control": a.is_control,
                    "weight": display.fmt_share(a.weight),
                    "units": f"{a.units:,}",
                }
                for a in report.arms
            ],
            notes=[*report.notes, *analysis.notes],
            charts=charts,
            primary_name=primary.name if primary else None,
            csv_url="?" + urlencode({"phase": report.phase, "format": "csv"}),
        )
    return TemplateResponse(request, "admin/experiments/results.html", context)


# --- the experiment list ------------------------------------------------------------------


def guidance_badge(experiment: Experiment) -> dict[str, str] | None:
    report = report_for(experiment)
    if report is None:
        return None
    arm_names = {a.key: a.name or a.key for a in report.arms}
    return {
        "guidance": report.analysis.guidance,
        "label": display.guidance_label(report.analysis, arm_names=arm_names),
        "url": reverse("admin:experiments_experiment_results", args=[experiment.pk]),
    }


def lift_cards(request: HttpRequest) -> dict[str, Any]:
    """The lift of personalization of each site the user can read whose global holdout is
    on (a site without one has nothing to compare with)."""
    holdouts = GlobalHoldout.objects.filter(enabled=True, share__gt=0).select_related("site")
    if not request.user.is_superuser:
        holdouts = holdouts.filter(site_id__in=site_ids_for_user(request.user, Perm.VIEW))
    wanted = request.GET.get("site", "")
    if wanted.isdigit():  # the list is filtered by site: that site's card only
        holdouts = holdouts.filter(site_id=int(wanted))
    holdouts = list(holdouts.order_by("site__name")[: MAX_LIFT_CARDS + 1])
    cards: list[dict[str, Any]] = []
    for holdout in holdouts[:MAX_LIFT_CARDS]:
        lift = results_selectors.site_personalization_lift(site=holdout.site)
        cards.append(
            {
                "site": holdout.site.name,
                "share": display.fmt_share(holdout.share),
                "card": None
                if lift is None
                else display.lift_card(site_name=holdout.site.name, lift=lift),
            }
        )
    return {
        "lift_cards": cards,
        "lift_cards_truncated": len(holdouts) > MAX_LIFT_CARDS,
        "holdout_list_url": reverse("admin:experiments_globalholdout_changelist"),
    }
