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

    def hero_impressions():
        return list(Event.objects.filter(site=site, kind="impression", slot="home_hero"))

    # Two impressions of the hero: the JS client's, through /api/v1/events, and the
    # server-rendered copy's, by the template tag. The page's first response set the
    # visitor cookie the tag made up (PersonalizeCookiesMiddleware), and the JS client
    # adopted it: one visitor for both.
    assert wait_for(lambda: len(hero_impressions()) >= 2)
    impressions = hero_impressions()
    assert {(i.variant, i.reason, i.reason_key) for i in impressions} == {
        ("hero-default", "default", "")
    }
    assert len({i.visitor_id for i in impressions}) == 1
    assert page.evaluate("document.cookie").count("pz_vid=" + impressions[0].visitor_id) == 1
    hero.click()
    assert wait_for(
        lambda: Event.objects.filter(site=site, kind="click", slot="home_hero").exists()
    )
    click = Event.objects.get(site=site, kind="click", slot="home_hero")
    assert (click.variant, click.reason) == ("hero-default", "default")
