"""The demo page in Debian's chromium: personalised content for chosen visitor contexts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# Debian's chromium and the async-unsafe switch, as for every browser test.
from tests.browser.conftest import browser_type_launch_args  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.delivery.demo_urls")]


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_demo_page_personalises_for_chosen_contexts(
    transactional_db, live_server, page, site, config, settings
):
    from segments.models import Event

    settings.PERSONALIZE_DEMO = True
    page.goto(f"{live_server.url}/demo/?site={site.slug}")
    page.wait_for_selector('body[data-state="ready:anonymous"]', timeout=15000)
    hero = page.locator('[data-personalize="home_hero"]')
    assert hero.get_attribute("data-variant") == "hero-default"
    assert hero.inner_text() == "Welcome"
    assert page.locator("#server-rendered [data-personalize-rendered]").count() == 1
    assert wait_for(lambda: Event.objects.filter(site=site, kind="impression").count() >= 2)

    page.click('[data-preset="rainy-evening"]')
    page.wait_for_selector('body[data-state="ready:rainy-evening"]', timeout=15000)
    assert hero.get_attribute("data-variant") == "detroit-shoes"
    assert hero.inner_text() == "Detroit shoes"
    segments = page.locator("#pz-segments").inner_text()
    assert "detroit" in segments and "rainy" in segments
    assert page.locator('[data-screen="home"]').get_attribute("data-variant") == "rainy-evening"
    assert "variant detroit-shoes" in page.locator('[data-meta-for="home_hero"]').inner_text()

    page.click('[data-preset="shoe-shopper"]')
    page.wait_for_selector('body[data-state="ready:shoe-shopper"]', timeout=15000)
    assert (
        page.locator('[data-personalize="banner"]').get_attribute("data-variant") == "adult-banner"
    )

    clicks = Event.objects.filter(site=site, kind="click").count()
    hero.click()
    assert wait_for(lambda: Event.objects.filter(site=site, kind="click").count() == clicks + 1)
    stored_vid = page.evaluate("localStorage.getItem('pz_vid')")
    assert stored_vid and Event.objects.filter(site=site, visitor_id=stored_vid).exists()

    before = Event.objects.filter(site=site).count()
    page.click('[data-preset="no-consent"]')
    page.wait_for_selector('body[data-state="ready:no-consent"]', timeout=15000)
    assert page.locator("#pz-events").inner_text() == "not sent (no consent)"
    assert page.evaluate("localStorage.getItem('pz_vid')") is None
    assert "pz_vid=" not in page.evaluate("document.cookie")
    hero.click()
    time.sleep(0.5)
    assert Event.objects.filter(site=site).count() == before


def test_demo_is_off_without_the_setting(client, site, settings):
    settings.DEBUG = False
    settings.PERSONALIZE_DEMO = False
    assert client.get(f"/demo/?site={site.slug}").status_code == 404


@pytest.fixture
def demo_site(transactional_db, monkeypatch):
    """The real demo data (segments, content, keys), with few generated people."""
    from personalize.demo import seed_demo
    from segments import demo as segments_demo

    monkeypatch.setattr(segments_demo, "PROFILES", 40)
    return seed_demo(create_admin=False).site


SCREENS = {"home"}
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "demo.png"
NO_BROKEN_IMAGES = """() => Array.from(document.images).every(i => i.complete)"""
BROKEN_IMAGES = """() => Array.from(document.images)
    .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute("src"))"""


def test_each_demo_preset_lands_in_its_own_segment_with_no_broken_image(
    demo_site, live_server, page, settings
):
    from django.utils import timezone

    from delivery.demo import demo_presets

    settings.PERSONALIZE_DEMO = True
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/demo/?site={demo_site.slug}")
    page.wait_for_selector('body[data-state="ready:anonymous"]', timeout=15000)
    shown = {}
    for preset in demo_presets(now=timezone.now()):
        key, expect = preset["key"], preset["expect"]
        page.click(f'[data-preset="{key}"]')
        page.wait_for_selector(f'body[data-state="ready:{key}"]', timeout=15000)
        selector = (
            f'[data-screen="{expect["slot"]}"]'
            if expect["slot"] in SCREENS
            else f'[data-personalize="{expect["slot"]}"]'
        )
        variant = page.get_attribute(selector, "data-variant")
        assert variant == expect["variant"], (key, variant)
        matched = page.locator("#pz-segments").inner_text()
        if expect["segment"]:
            assert expect["segment"] in matched, (key, matched)
            shown[(expect["slot"], variant)] = key
        else:
            assert matched == "none", (key, matched)
        page.wait_for_function(NO_BROKEN_IMAGES, timeout=10000)
        assert page.evaluate(BROKEN_IMAGES) == [], key
        assert page.locator("img").count() >= 1  # the app banner (and most screens' hero)
        # JSON offers as cards, the screen as a drawn mock (not JSON).
        assert page.locator('[data-personalize="offers"] .offer h4').count() >= 1
        assert page.locator('[data-screen="home"] .pz-c-unknown').count() == 0
        assert "{" not in page.locator('[data-screen="home"]').inner_text()
    if os.environ.get("DEMO_SCREENSHOT"):  # docs/img/demo.png: `DEMO_SCREENSHOT=1 pytest -k preset`
        page.click('[data-preset="rainy-evening"]')
        page.wait_for_selector('body[data-state="ready:rainy-evening"]', timeout=15000)
        page.wait_for_function(NO_BROKEN_IMAGES, timeout=10000)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    # Every preset with a segment shows a variant no other preset shows.
    assert len(shown) == len(
        [p for p in demo_presets(now=timezone.now()) if p["expect"]["segment"]]
    )
    assert errors == []
