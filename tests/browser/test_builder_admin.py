"""The builder in the real segment admin, driven by clicking (pytest-playwright + live_server)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from segments.models import Segment
from segments.services.fields import field_catalog_seed
from segments.services.segments import segment_create
from tenancy.roles import Role
from tests.browser.conftest import admin_login
from tests.factories import SiteFactory, user_with_role
from tests.segments.factories import EventFactory, ProfileFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED = {
    "all": [
        {"field": "profile.gender", "op": "eq", "value": "female"},
        {"field": "profile.age", "op": "between", "value": [20, 30]},
        {"field": "profile.city", "op": "eq", "value": "Detroit"},
        {
            "event": "purchase",
            "where": {
                "all": [
                    {"field": "properties.category", "op": "eq", "value": "shoes"},
                    {"field": "properties.price", "op": "lt", "value": 50},
                ]
            },
            "within_days": 90,
        },
    ]
}
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "builder.png"


@pytest.fixture
def site(transactional_db: Any) -> Any:
    site = SiteFactory(slug="alpha", name="Alpha")
    field_catalog_seed(site=site)
    return site


@pytest.fixture
def people(site: Any) -> None:
    women = [
        ("w-1", 25, "Detroit"),
        ("w-2", 28, "Detroit"),
        ("w-3", 41, "Detroit"),
        ("w-4", 22, "Boston"),
    ]
    for user_id, age, city in women:
        profile = ProfileFactory(
            site=site, user_id=user_id, traits={"gender": "female", "age": age, "city": city}
        )
        EventFactory(
            profile=profile, name="purchase", properties={"category": "shoes", "price": 35}
        )
    ProfileFactory(
        site=site, user_id="m-1", traits={"gender": "male", "age": 25, "city": "Detroit"}
    )


@pytest.fixture
def logged_in(page: Page, live_server: Any, site: Any) -> Page:
    user_with_role(site, Role.MARKETER, username="marketer")
    return admin_login(page, live_server.url, "marketer")


def count(page: Page) -> Any:
    return page.get_by_test_id("pz-count")


def rules(page: Page) -> Any:
    """Top-level rules of the builder (not the event's property filters)."""
    return page.locator(".pz-qb:not(.pz-qb-nested) > .ruleGroup > .ruleGroup-body > .pz-rule")


def add_condition(page: Page, field: str, operator: str | None = None) -> Any:
    page.locator(".pz-qb:not(.pz-qb-nested) > .ruleGroup > .ruleGroup-header").get_by_role(
        "button", name="Add condition"
    ).click()
    rule = rules(page).last
    rule.get_by_label("Field", exact=True).select_option(field)
    if operator:
        rule.get_by_label("Operator", exact=True).first.select_option(operator)
    return rule


def test_build_save_reload(
    logged_in: Page, live_server: Any, site: Any, people: None, page_errors: list[str]
) -> None:
    page = logged_in
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.get_by_label("Key").fill("detroit-shoes")
    page.get_by_label("Name").fill("Women 20-30 in Detroit who bought cheap shoes")
    # The marketer's only site is preselected, so the builder counts at once.
    expect(page.get_by_label("Site")).to_have_value(str(site.pk))
    expect(count(page)).to_have_text("5")  # {} matches everyone

    rule = add_condition(page, "profile.gender", "eq")
    rule.get_by_label("Value for Gender").select_option("female")
    expect(count(page)).to_have_text("4")  # the live count follows the added rule

    rule = add_condition(page, "profile.age", "between")
    rule.get_by_label("Age from").fill("20")
    rule.get_by_label("Age to").fill("30")
    expect(count(page)).to_have_text("3")

    rule = add_condition(page, "profile.city", "eq")
    rule.get_by_label("Value for City").fill("Detroit")
    expect(count(page)).to_have_text("2")

    rule = add_condition(page, "__event__")
    rule.get_by_label("Event name").fill("purchase")
    rule.get_by_label("Within days (empty: ever)").fill("90")
    for prop, op, value in [
        ("properties.category", "eq", "shoes"),
        ("properties.price", "lt", "50"),
    ]:
        rule.get_by_role("button", name="Add property filter").first.click()
        flt = rule.locator(".pz-qb-nested .pz-rule").last
        flt.get_by_label("Event property").fill(prop)
        flt.get_by_label("Operator").select_option(op)
        flt.get_by_label(f"Value for {prop}").fill(value)
    expect(count(page)).to_have_text("2")
    expect(page.locator(".pz-sample li")).to_have_count(2)
    assert json.loads(page.get_by_test_id("pz-json").text_content()) == EXPECTED

    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    segment = Segment.objects.get(site=site, key="detroit-shoes")
    assert segment.criteria == EXPECTED

    page.reload()
    expect(count(page)).to_have_text("2")  # the change form finds the read-only site itself
    assert json.loads(page.get_by_test_id("pz-json").text_content()) == EXPECTED
    expect(rules(page)).to_have_count(4)
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    segment.refresh_from_db()
    assert segment.criteria == EXPECTED
    assert page_errors == []


def test_validation_error_is_shown_at_its_rule(
    logged_in: Page, live_server: Any, site: Any, people: None
) -> None:
    page = logged_in
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.get_by_label("Site").select_option(str(site.pk))
    expect(count(page)).to_have_text("5")
    add_condition(page, "profile.gender", "eq").get_by_label("Value for Gender").select_option(
        "female"
    )
    bad = add_condition(page, "profile.city", "matches")
    bad.get_by_label("Value for City").fill("([unclosed")
    error = bad.locator(".pz-rule-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(bad.get_by_label("Value for City")).to_have_attribute("aria-invalid", "true")
    expect(rules(page).first.locator(".pz-rule-error")).to_have_count(0)
    expect(page.locator(".pz-count-line")).to_contain_text("Fix the highlighted conditions")
    bad.get_by_label("Value for City").fill("^Det")
    expect(count(page)).to_have_text("3")
    expect(error).to_have_count(0)


def test_stored_markup_is_inert(
    logged_in: Page, live_server: Any, site: Any, page_errors: list[str]
) -> None:
    page = logged_in
    evil_name = "<img src=x onerror=alert(1)>"
    segment_create(site=site, key="evil", name=evil_name, criteria={"all": []})
    criteria = {
        "all": [
            {"segment": "evil"},
            {"field": "profile.city", "op": "eq", "value": "</script><script>alert(2)</script>"},
        ]
    }
    target = segment_create(site=site, key="target", name="</script><b>bold</b>", criteria=criteria)
    page.goto(f"{live_server.url}/admin/segments/segment/{target.pk}/change/")
    segment_select = rules(page).first.get_by_label("Segment")
    expect(segment_select).to_contain_text(evil_name)
    expect(rules(page).nth(1).get_by_label("Value for City")).to_have_value(
        "</script><script>alert(2)</script>"
    )
    assert page.locator(".pz-app img, .pz-app b").count() == 0
    assert json.loads(page.locator("textarea[name=criteria]").input_value()) == criteria
    page.wait_for_timeout(600)  # let the debounced audience call render too
    assert page_errors == []


def test_visitor_tester_in_the_admin(
    logged_in: Page, live_server: Any, site: Any, people: None
) -> None:
    page = logged_in
    segment = segment_create(
        site=site, key="detroit-shoes", name="Detroit shoes", criteria=EXPECTED
    )
    page.goto(f"{live_server.url}/admin/segments/segment/{segment.pk}/change/")
    expect(count(page)).to_have_text("2")
    page.get_by_text("Test a visitor").click()
    page.get_by_role("button", name="Test visitor").click()  # the sample document has no purchase
    expect(page.get_by_test_id("pz-match")).to_contain_text("No match")
    expect(rules(page).nth(0).locator(".pz-verdict")).to_contain_text("passes")
    expect(rules(page).nth(3).locator(".pz-verdict")).to_contain_text("fails")
    expect(page.locator(".pz-explain li").first).to_be_visible()
    if os.environ.get("BUILDER_SCREENSHOT"):
        # docs/img/builder.png: `BUILDER_SCREENSHOT=1 pytest tests/browser -k visitor_tester`
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.locator("fieldset", has=page.locator(".pz-builder")).screenshot(path=str(SCREENSHOT))

    page.get_by_label("a stored profile").check()
    page.get_by_label("Profile user id").fill("w-1")
    page.get_by_role("button", name="Test visitor").click()
    expect(page.get_by_test_id("pz-match")).to_contain_text("Match: this visitor is in the segment")
    expect(rules(page).nth(3).locator(".pz-verdict")).to_contain_text("passes")
    page.get_by_label("Profile user id").fill("m-1")
    page.get_by_role("button", name="Test visitor").click()
    expect(page.get_by_test_id("pz-match")).to_contain_text("No match")
    expect(rules(page).nth(0).locator(".pz-verdict")).to_contain_text("fails")
