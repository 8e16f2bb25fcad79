"""The admin's analytics pages: the dashboard, a placement's or screen's report and a
segment's report, each a page of charts and tables and a CSV per table. Thin: the site,
period and metric come from the query string, the numbers from `selectors.reports`.

Charts get their data through `json_script` and draw with a static script, so the pages
run under a strict Content-Security-Policy (no inline script), which they send."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from analytics.selectors.reports import (
    MIN_SAMPLE,
    Report,
    dashboard_report,
    default_metric,
    report_metrics,
    segment_report,
    slot_report,
)
from tenancy.roles import Perm
from tenancy.selectors import sites_for_user

PERIODS = {"7": 7, "28": 28, "90": 90, "365": 365}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(report: Report, name: str, filename: str) -> StreamingHttpResponse:
    table = report.table(name)
    if table is None:
        raise Http404(f"No table {name!r} in this report.")
    writer = csv.writer(_Echo())
    rows = [table.headers, *table.rows]
    response = StreamingHttpResponse(
        (writer.writerow(["" if v is None else v for v in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}-{name}.csv"'
    return response


def _context(request: HttpRequest) -> dict:
    sites = list(sites_for_user(request.user, Perm.VIEW).order_by("name"))
    if not sites:
        raise Http404("You have no site to report on.")
    wanted = request.GET.get("site")
    site = next((s for s in sites if str(s.pk) == wanted), sites[0])
    days = PERIODS.get(request.GET.get("days", ""), 28)
    until = timezone.now().date()
    since = until - timedelta(days=days - 1)
    metrics = report_metrics(site_id=site.pk)
    metric = default_metric(metrics, request.GET.get("metric"))
    return {
        "site": site,
        "sites": sites,
        "days": days,
        "periods": PERIODS,
        "since": since,
        "until": until,
        "metrics": metrics,
        "metric": metric,
        "min_sample": MIN_SAMPLE,
    }


def _page(request: HttpRequest, report: Report, ctx: dict, filename: str) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return _csv(report, request.GET.get("table", ""), filename)
    query = {"site": ctx["site"].pk, "days": ctx["days"]}
    if ctx["metric"] is not None:
        query["metric"] = ctx["metric"].key
    for table in report.tables:
        table.csv_url = f"?{urlencode({**query, 'format': 'csv', 'table': table.name})}"
    response = render(
        request,
        "admin/analytics/report.html",
        {
            **admin.site.each_context(request),
            **ctx,
            "title": report.title,
            "report": report,
            "query": urlencode(query),
            "charts": report.charts,
        },
    )
    response["Content-Security-Policy"] = CSP
    return response


def _links(ctx: dict, report: Report, table: str, name: str, column: int = 0) -> None:
    found = report.table(table)
    if found is None:
        return
    query = urlencode({"site": ctx["site"].pk, "days": ctx["days"]})
    for i, row in enumerate(found.rows):
        found.links[i] = f"{reverse(name, args=[row[column]])}?{query}"


def _window(ctx: dict) -> dict[str, Any]:
    """The site, days and metric every report is asked for, from the page's context."""
    return {
        "site_id": ctx["site"].pk,
        "since": ctx["since"],
        "until": ctx["until"],
        "metric": ctx["metric"],
    }


def dashboard(request: HttpRequest) -> HttpResponse:
    ctx = _context(request)
    report = dashboard_report(**_window(ctx))
    _links(ctx, report, "variants", "analytics:slot")
    _links(ctx, report, "slots", "analytics:slot")
    _links(ctx, report, "segments", "analytics:segment")
    return _page(request, report, ctx, f"{ctx['site'].slug}-dashboard")


def slot(request: HttpRequest, slot: str) -> HttpResponse:
    ctx = _context(request)
    report = slot_report(**_window(ctx), slot=slot)
    return _page(request, report, ctx, f"{ctx['site'].slug}-{slot}")


def segment(request: HttpRequest, key: str) -> HttpResponse:
    ctx = _context(request)
    report = segment_report(**_window(ctx), segment=key)
    return _page(request, report, ctx, f"{ctx['site'].slug}-segment-{key}")
