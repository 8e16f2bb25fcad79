"""The JS client and the template tag record attributed impressions and clicks on the demo
page in chromium: slot, variant and reason, in their columns."""

from __future__ import annotations

import pytest

from tests.delivery.conftest import build_site_config
from tests.delivery.test_demo_browser import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.delivery.demo_urls")]


@pytest.fixture
def published(site):
    return build_site_config(site)


def test_impressions_and_clicks_carry_attribution(
    transactional_db,
    live_server,
    page,
    site,
    published,
    settings,
):
    from segments.models import Event

    settings.PERSONALIZE_DEMO = True
    page.goto(f"{live_server.url}/demo/?site={site.slug}")
    page.wait_for_selector('body[data-state="ready:anonymous"]', timeout=15000)
    hero = page.locator('[data-personalize="home_hero"]')
    assert hero.get_attribute("data-personalize-slot") == "home_hero"

    def client_impression():
        return Event.objects.filter(
            site=site, kind="impression", slot="home_hero", visitor_id__startswith="anon-"
        ).first()

    assert wait_for(lambda: client_impression() is not None)
    impression = client_impression()
    assert (impression.variant, impression.reason, impression.reason_key) == (
        "hero-default",
        "default",
        "",
    )
    # The server-rendered placement's impression, recorded by the template tag.
    server_slot = page.locator("#server-rendered [data-personalize-rendered]")
    assert wait_for(
        lambda: Event.objects.filter(
            site=site, kind="impression", slot=server_slot.get_attribute("data-personalize-slot")
        ).exists()
    )
    hero.click()
    assert wait_for(
        lambda: Event.objects.filter(site=site, kind="click", slot="home_hero").exists()
    )
    click = Event.objects.get(site=site, kind="click", slot="home_hero")
    assert (click.variant, click.reason) == ("hero-default", "default")
