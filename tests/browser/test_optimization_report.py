"""The optimization report in chromium, on seed_demo's optimized deals banner: from the
optimization list to the report, the summary figures equal the selector's, the chart draws
under the site's strict CSP with no console error, the leaves read as sentences and the CSV
downloads with one row per period.

`OPTIMIZATION_SCREENSHOT=1 pytest tests/browser -k optimization_report` refreshes
docs/img/optimization-report.png."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from experiments import demo_optimization
from experiments.models import Optimization
from experiments.reports_optimization import lift_cards, summary_cards
from experiments.selectors.optimization_report import optimization_report
from tenancy.models import Site
from tenancy.roles import Role
from tests.browser.conftest import admin_login
from tests.browser.test_analytics_reports import assert_charts_drawn
from tests.factories import user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "optimization-report.png"


@pytest.fixture
def demo(transactional_db: Any) -> Optimization:
    call_command("seed_demo", "--no-admin")
    site = Site.objects.get(slug="demo")
    user_with_role(site, Role.VIEWER, username="viewer")
    return Optimization.objects.get(site=site, key=demo_optimization.KEY)


def test_optimization_report_page(
    page: Page, live_server: Any, demo: Optimization, page_errors: list[str]
) -> None:
    data = optimization_report(optimization=demo)
    console: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            console.append(f"{msg.text} ({msg.location.get('url')})")

    page.on("console", on_console)
    admin_login(page, live_server.url, "viewer")
    page.goto(f"{live_server.url}/admin/experiments/optimization/")
    page.locator("#result_list").get_by_role("link", name="Report", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/admin/experiments/optimization/{demo.pk}/report/")
    expect(page.locator("h1")).to_contain_text("Report of")
    expect(page.locator("#pz-opt-header")).to_contain_text("Claimed a deal (within a day)")

    for card in summary_cards(data):
        box = page.locator(f"#pz-card-{card['id']}")
        expect(box.locator(".pz-opt-rate")).to_have_text(card["rate"])
        expect(box).to_contain_text(card["interval"])
    expect(page.locator("#pz-card-best h3")).to_contain_text("Best single variant")
    for lift in lift_cards(data):
        box = page.locator(f"#pz-card-{lift['id']}")
        expect(box.locator(".pz-opt-lift")).to_have_text(lift["value"])
        expect(box).to_contain_text("significantly better")

    assert_charts_drawn(page, 1)
    spec = page.evaluate(
        "() => JSON.parse(document.getElementById('optimization-chart').textContent)"
    )
    assert len(spec["series"]) == 3 and len(spec["labels"]) == len(data.report.periods)
    drawn = page.evaluate(
        "() => document.querySelector('canvas[data-chart]').__chart.data.datasets.length"
    )
    assert drawn == 9  # three series, each with its two band bounds

    rows = page.locator("#pz-opt-leaves tbody tr")
    expect(rows).to_have_count(len(data.leaves))
    for i, leaf in enumerate(data.leaves):
        expect(rows.nth(i).locator(".pz-opt-sentence")).to_have_text(leaf.sentence)
    expect(page.locator("#pz-opt-leaves")).to_contain_text("Device type is desktop")
    expect(page.locator("#pz-opt-versions tbody tr")).to_have_count(len(data.versions))

    with page.expect_download() as info:
        page.locator("a.pz-results-csv").click()
    download = info.value
    assert download.suggested_filename == f"demo-{demo.key}-report.csv"
    with Path(download.path()).open(encoding="utf-8") as f:
        periods = list(csv.DictReader(f))
    assert [r["period"] for r in periods] == [p.label for p in data.report.periods]
    assert float(periods[-1]["cumulative_policy_rate"]) == pytest.approx(
        data.report.overall.policy.value
    )

    if os.environ.get("OPTIMIZATION_SCREENSHOT"):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.locator("#content").screenshot(path=str(SCREENSHOT))
    assert not page_errors, page_errors
    assert not console, console
