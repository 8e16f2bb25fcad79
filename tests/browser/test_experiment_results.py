"""An experiment's results page in chromium, on seed_demo's experiment and its real rollups:
from the list's guidance badge to the page, both charts draw under the site's strict CSP
with no console error, and the CSV downloads with one row per arm x metric.

`RESULTS_SCREENSHOT=1 pytest tests/browser -k experiment_results` refreshes
docs/img/experiment-results.png."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from experiments.models import Experiment
from experiments.results_display import GUIDANCE_LABELS
from experiments.selectors.results import experiment_report
from tenancy.models import Site
from tenancy.roles import Role
from tests.browser.conftest import admin_login
from tests.browser.test_analytics_reports import assert_charts_drawn
from tests.factories import user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "experiment-results.png"


@pytest.fixture
def demo(transactional_db: Any) -> Experiment:
    call_command("seed_demo", "--no-admin")
    site = Site.objects.get(slug="demo")
    user_with_role(site, Role.VIEWER, username="viewer")
    return Experiment.objects.get(site=site, key="offers-free-checking")


def test_experiment_results_page(
    page: Page, live_server: Any, demo: Experiment, page_errors: list[str]
) -> None:
    report = experiment_report(experiment=demo)
    console: list[str] = []

    def on_console(msg: Any) -> None:
        # The browser's own favicon request is the one 404 the admin has; anything else counts.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            console.append(f"{msg.text} ({msg.location.get('url')})")

    page.on("console", on_console)
    admin_login(page, live_server.url, "viewer")
    page.goto(f"{live_server.url}/admin/experiments/experiment/")
    badge = page.locator(f"a.pz-guidance-{report.analysis.guidance}")
    expect(badge).to_contain_text(str(GUIDANCE_LABELS[report.analysis.guidance]))
    badge.click()

    expect(page.locator("h1")).to_contain_text("Results of")
    expect(page.locator("#pz-guidance")).to_contain_text(report.analysis.explanation)
    expect(page.locator("#pz-results-table tbody tr")).to_have_count(3)
    assert_charts_drawn(page, 2)

    with page.expect_download() as info:
        page.locator("a.pz-results-csv").click()
    download = info.value
    assert download.suggested_filename == "demo-offers-free-checking-phase1-results.csv"
    with Path(download.path()).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["arm"], r["metric"]) for r in rows] == [
        ("free-checking", "checked-out"),
        ("free-checking", "revenue"),
        ("free-checking", "orders"),
    ]

    # The phase selector reloads the page for the chosen phase.
    page.locator("#id_phase").select_option("1")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/experiments/experiment/{demo.pk}/results/?phase=1"
    )
    assert_charts_drawn(page, 2)

    if os.environ.get("RESULTS_SCREENSHOT"):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.locator("#content").screenshot(path=str(SCREENSHOT))
    assert not page_errors, page_errors
    assert not console, console
