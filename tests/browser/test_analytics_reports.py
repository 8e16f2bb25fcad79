"""The analytics dashboard and a placement report in chromium: the charts draw (under the
pages' strict CSP), CSV downloads work, and the JS client's events carry attribution."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from analytics.models import MetricDay, SegmentSizeDay, VariantDay
from analytics.services.metrics import metric_create
from tenancy.roles import Role
from tests.factories import SiteFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The canvas has pixels that are not transparent: something was drawn.
DRAWN = """(canvas) => {
  const ctx = canvas.getContext("2d");
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
  return {width: canvas.width, height: canvas.height, painted};
}"""


@pytest.fixture
def site(transactional_db: Any) -> Any:
    site = SiteFactory(slug="alpha", name="Alpha")
    metric = metric_create(site=site, key="bought", name="Bought", kind="conversion", event="buy")
    today = timezone.now().date()
    for back in range(14):
        day = today - timedelta(days=back)
        for variant, imps in (("a", 300 + back * 7), ("b", 200 + back * 3)):
            dims = {
                "site": site,
                "day": day,
                "slot": "hero",
                "variant": variant,
                "reason": "default",
            }
            VariantDay.objects.create(
                **dims, impressions=imps, visitors=imps // 2, clicks=imps // 9
            )
            MetricDay.objects.create(**dims, metric=metric, n=imps // 2, converted=imps // 20)
        SegmentSizeDay.objects.create(site=site, day=day, segment="vips", size=40 - back)
    return site


@pytest.fixture
def logged_in(page: Page, live_server: Any, site: Any) -> Page:
    user_with_role(site, Role.VIEWER, username="viewer")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("viewer")
    return page


def assert_charts_drawn(page: Page, expected: int) -> None:
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(expected)
    for i in range(expected):
        canvas = canvases.nth(i)
        expect(canvas).to_have_attribute("data-drawn", "true")
        drawn = canvas.evaluate(DRAWN)
        assert drawn["width"] > 100 and drawn["height"] > 100, drawn
        assert drawn["painted"] > 500, drawn


def test_dashboard_and_placement_report(
    logged_in: Page, live_server: Any, page_errors: list[str]
) -> None:
    page = logged_in
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Reports").click()
    expect(page.locator("h1")).to_have_text("Analytics")
    assert_charts_drawn(page, 2)
    expect(page.locator("#table-variants tbody tr")).to_have_count(2)

    with page.expect_download() as info:
        page.locator("#table-traffic a.analytics-csv").click()
    download = info.value
    assert download.suggested_filename == "alpha-dashboard-traffic.csv"
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Day,Impressions,Visitor-days,Clicks" and len(lines) == 29

    page.locator("#table-variants tbody a", has_text="hero").first.click()
    expect(page.locator("h1")).to_contain_text("hero")
    assert_charts_drawn(page, 3)
    with page.expect_download() as info:
        page.locator("#table-variants a.analytics-csv").click()
    rows = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["a", "b"]
    assert not page_errors, page_errors
    assert not [c for c in console if "Content Security Policy" in c], console
