"""The admin's optimization report: a page per optimization (summary cards: the policy
against the random holdout and the best single variant, with the lifts; the cumulative goal
rate chart; which variant each kind of visitor gets; the model versions) and its CSV.

Thin: the figures come from `experiments.selectors.optimization_report`, their formatting
from `experiments.reports_optimization`. The chart's data goes through `json_script` and is
drawn by the experiments' static script, so the page runs under the strict CSP.

Wiring: the Optimization ModelAdmin (experiments.admin_optimization) adds
`*report_urls(self)` to its `get_urls()` and `report_link` to its list and status line; the
URL is `admin:experiments_optimization_report` with the optimization's pk.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from experiments import reports_optimization as display
from experiments.models import Optimization
from experiments.results_display import fmt_share
from experiments.selectors.optimization_report import optimization_report


def _csv_response(data: Any, optimization: Optimization) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{optimization.site.slug}-{optimization.key}-report.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    csv.writer(response).writerows(display.csv_rows(data.report))
    return response


def report_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    # The admin's queryset is scoped to the sites the user may read: another site's
    # optimization is a 404, so its existence does not leak.
    optimization = get_object_or_404(
        model_admin.get_queryset(request).select_related(
            "site", "goal", "placement", "screen", "live_version"
        ),
        pk=pk,
    )
    data = optimization_report(optimization=optimization)
    if request.GET.get("format") == "csv":
        return _csv_response(data, optimization)
    chart = display.rate_chart(data)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Report of {optimization}",
        "optimization": optimization,
        "data": data,
        "holdout_share": fmt_share(optimization.holdout_share),
        "cards": display.summary_cards(data),
        "lifts": display.lift_cards(data),
        "charts": [chart] if chart is not None else [],
        "leaves": display.leaf_rows(data.leaves),
        "arm_names": list(data.arm_names.values()),
        "versions": data.versions,
        "csv_url": "?" + urlencode({"format": "csv"}),
        "by_day": data.report.by_day,
    }
    return TemplateResponse(request, "admin/experiments/optimization/report.html", context)


def report_urls(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    """The report's URL, for the Optimization ModelAdmin's `get_urls()`."""

    def view(request: HttpRequest, pk: int) -> HttpResponse:
        return report_view(model_admin, request, pk)

    return [
        path(
            "<int:pk>/report/",
            model_admin.admin_site.admin_view(view),
            name="experiments_optimization_report",
        )
    ]


def report_link(obj: Optimization) -> str:
    url = reverse("admin:experiments_optimization_report", args=[obj.pk])
    return format_html('<a href="{}">Report</a>', url)
