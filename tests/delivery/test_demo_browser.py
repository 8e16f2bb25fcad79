"""The demo page in Debian's chromium: personalised content for chosen visitor contexts."""

from __future__ import annotations

import os
import time

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.delivery.demo_urls")]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


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

    page.click('[data-preset="rainy-detroit"]')
    page.wait_for_selector('body[data-state="ready:rainy-detroit"]', timeout=15000)
    assert hero.get_attribute("data-variant") == "detroit-shoes"
    assert hero.inner_text() == "Detroit shoes"
    segments = page.locator("#pz-segments").inner_text()
    assert "detroit" in segments and "rainy" in segments
    assert "rainy-evening" in page.locator('[data-screen="home"]').inner_text()
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
