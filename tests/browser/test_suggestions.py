"""In chromium: a marketer opens "Segment suggestions" on seeded people, runs suggestions
(the Celery task runs eagerly, as everywhere in tests), reads a card and clicks "Save as
segment", landing on the new segment's page with the suggested criteria."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from segments.models import Segment, SegmentKind
from segments.selectors.members import segment_count
from tenancy.roles import Role
from tests.analytics.suggestions.data import plant_clusters
from tests.browser.conftest import admin_login
from tests.factories import SiteFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(transactional_db: Any) -> Any:
    return SiteFactory(slug="alpha", name="Alpha")


def test_suggest_then_save_as_segment(
    page: Page, live_server: Any, site: Any, page_errors: list[str]
) -> None:
    plant_clusters(site, per_group=40)
    user_with_role(site, Role.MARKETER, username="mk")
    admin_login(page, live_server.url, "mk")
    page.goto(f"{live_server.url}/admin/analytics/suggestionrun/")
    expect(page.locator("h1")).to_have_text("Segment suggestions")
    page.get_by_label("Value event").select_option("purchase")
    page.get_by_label("Window (days)").fill("90")
    page.get_by_role("button", name="Suggest segments").click()
    expect(page.locator("#pz-run")).to_have_attribute("data-status", "done", timeout=30000)
    champions = page.locator('.pz-suggestion[data-kind="rfm"]').filter(has_text="Champions")
    expect(champions).to_have_count(1)
    expect(champions.locator(".pz-criteria")).to_contain_text("did “purchase” at least")
    clusters = page.locator('.pz-suggestion[data-kind="cluster"]')
    expect(clusters).to_have_count(3)
    expect(clusters.first.locator(".pz-quality")).to_contain_text("of the cluster")
    if os.environ.get("SUGGESTIONS_SCREENSHOT"):
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.screenshot(path=os.environ["SUGGESTIONS_SCREENSHOT"], full_page=True)
    size = int(champions.locator(".pz-size").get_attribute("data-size"))
    champions.get_by_role("button", name="Save as segment").click()
    expect(page).to_have_url(re.compile(r"/admin/segments/segment/\d+/change/$"))
    segment = Segment.objects.get(site=site)
    assert segment.kind == SegmentKind.DYNAMIC and segment.criteria["all"]
    assert segment_count(segment=segment) == size
    expect(page.locator(".messagelist")).to_contain_text("Saved as the draft segment")
    expect(page.locator("#id_name")).to_have_value(segment.name)
    # The builder shows the suggested tree: an event condition on "purchase".
    expect(page.locator("body")).to_contain_text("purchase")
    assert page_errors == []
