"""The content admin's own pages in chromium: date pickers load without a page error (bug 3)
and the stored-profile picker searches the chosen site's profiles (bug 4)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from content.services.publishing import slot_publish
from tenancy.roles import Role
from tests.browser.conftest import admin_login
from tests.content.factories import placement_with_variants
from tests.factories import SiteFactory, user_with_role
from tests.segments.factories import ProfileFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(transactional_db: Any) -> Any:
    return SiteFactory(slug="alpha", name="Alpha")


@pytest.fixture
def publisher(page: Page, live_server: Any, site: Any) -> Page:
    user_with_role(site, Role.PUBLISHER, username="pub")
    return admin_login(page, live_server.url, "pub")


@pytest.mark.parametrize("name", ["visitor", "segment", "schedule"])
def test_preview_and_schedule_pages_have_working_date_pickers(
    publisher: Page, live_server: Any, site: Any, page_errors: list[str], name: str
) -> None:
    page = publisher
    placement = placement_with_variants(site)
    path = {
        "visitor": "/admin/content/placement/preview/visitor/",
        "segment": "/admin/content/placement/preview/segment/",
        "schedule": f"/admin/content/placement/{placement.pk}/schedule/",
    }[name]
    page.goto(live_server.url + path)
    shortcuts = page.locator(".datetimeshortcuts").first
    expect(shortcuts).to_be_visible()
    shortcuts.get_by_role("link", name="Today").click()
    expect(page.locator("input.vDateField").first).not_to_have_value("")
    page.locator(".datetimeshortcuts .date-icon").first.click()
    expect(page.locator(".calendarbox").first).to_be_visible()
    assert page_errors == []


def test_stored_profile_picker_searches_the_sites_profiles(
    publisher: Page, live_server: Any, site: Any, page_errors: list[str]
) -> None:
    page = publisher
    other = SiteFactory(slug="beta", name="Beta")
    slot_publish(slot=placement_with_variants(site))
    ProfileFactory(site=site, user_id="ana", traits={"city": "Detroit"})
    ProfileFactory(site=site, user_id="bob", traits={"city": "Boston"})
    ProfileFactory(site=other, user_id="ann", traits={"city": "Detroit"})
    page.goto(f"{live_server.url}/admin/content/placement/preview/visitor/")
    page.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("city:detroit")
    options = page.locator(".select2-results__option")
    expect(options).to_have_text(["ana"])
    options.first.click()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-result")).to_contain_text("home_hero")
    expect(page.locator(".select2-selection__rendered")).to_contain_text("ana")
    assert page_errors == []
