"""The builder in the real admin speaks people's words: operator phrases and enum labels
instead of codes, French when the browser asks for French, and the properties seen in the
site's events offered when filtering an event (pytest-playwright + live_server)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from segments.services.fields import field_catalog_seed
from tenancy.roles import Role
from tests.browser.conftest import admin_login
from tests.factories import SiteFactory, user_with_role
from tests.segments.factories import EventFactory, ProfileFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(transactional_db: Any) -> Any:
    site = SiteFactory(slug="alpha", name="Alpha")
    field_catalog_seed(site=site)
    profile = ProfileFactory(site=site, user_id="w-1", traits={"gender": "non_binary"})
    for category, price in [("shoes", 35), ("shoes", 80), ("hats", 20)]:
        EventFactory(
            profile=profile, name="purchase", properties={"category": category, "price": price}
        )
    return site


@pytest.fixture
def logged_in(page: Page, live_server: Any, site: Any) -> Page:
    user_with_role(site, Role.MARKETER, username="marketer")
    return admin_login(page, live_server.url, "marketer")


def top_rules(page: Page) -> Any:
    return page.locator(".pz-qb:not(.pz-qb-nested) > .ruleGroup > .ruleGroup-body > .pz-rule")


def add_condition(page: Page, add_label: str, field_label: str, field: str) -> Any:
    page.locator(".pz-qb:not(.pz-qb-nested) > .ruleGroup > .ruleGroup-header").get_by_role(
        "button", name=add_label
    ).click()
    rule = top_rules(page).last
    rule.get_by_label(field_label, exact=True).select_option(field)
    return rule


def test_human_operator_and_enum_labels(
    logged_in: Page, live_server: Any, page_errors: list[str]
) -> None:
    page = logged_in
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    expect(page.get_by_test_id("pz-count")).to_have_text("1")
    rule = add_condition(page, "Add condition", "Field", "profile.gender")
    expect(rule.get_by_label("Field", exact=True).locator("option:checked")).to_have_text("Gender")
    value = rule.get_by_label("Value for Gender")
    expect(value.locator("option[value=non_binary]")).to_have_text("Non-binary")
    value.select_option("non_binary")
    expect(page.get_by_test_id("pz-count")).to_have_text("1")

    rule = add_condition(page, "Add condition", "Field", "profile.age")
    operator = rule.get_by_label("Operator", exact=True)
    operator.select_option("gte")
    expect(operator.locator("option:checked")).to_have_text("is at least")

    # The visitor tester's explanation reads as words, the JSON path only as a detail.
    page.get_by_text("Test a visitor").click()
    page.get_by_role("button", name="Test visitor").click()
    explanation = page.locator(".pz-explain")
    expect(explanation).to_contain_text("Gender is Non-binary (actual: Female)")
    expect(explanation).not_to_contain_text("non_binary (")
    assert page_errors == []


def test_french_builder(logged_in: Page, live_server: Any, page_errors: list[str]) -> None:
    page = logged_in
    page.set_extra_http_headers({"Accept-Language": "fr-FR,fr;q=0.9"})
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(".pz-count-line")).to_contain_text("1 profil correspondant")
    rule = add_condition(page, "Ajouter une condition", "Champ", "profile.gender")
    expect(rule.get_by_label("Champ", exact=True).locator("option:checked")).to_have_text("Genre")
    value = rule.get_by_label("Valeur de Genre")
    expect(value.locator("option[value=non_binary]")).to_have_text("Non binaire")
    operator = rule.get_by_label("Opérateur", exact=True)
    expect(operator.locator("option[value=in]")).to_have_text("est l\u2019un de")

    page.get_by_text("Tester un visiteur").click()
    page.get_by_role("button", name="Tester le visiteur").click()
    # The new rule starts at the first allowed value (female), as the sample visitor is.
    expect(page.get_by_test_id("pz-match")).to_contain_text("Correspond : ce visiteur fait partie")
    expect(page.locator(".pz-explain")).to_contain_text("Genre est Femme (valeur réelle : Femme)")
    assert page_errors == []


def test_event_property_suggestions(
    logged_in: Page, live_server: Any, page_errors: list[str]
) -> None:
    page = logged_in
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    expect(page.get_by_test_id("pz-count")).to_have_text("1")
    rule = add_condition(page, "Add condition", "Field", "__event__")
    rule.get_by_label("Event name").fill("purchase")
    seen = rule.get_by_test_id("pz-seen-properties")
    expect(seen).to_contain_text("Properties seen in recent “purchase” events: category, price")

    rule.get_by_role("button", name="Add property filter").first.click()
    flt = rule.locator(".pz-qb-nested .pz-rule").last
    options = flt.get_by_test_id("pz-property-suggestions").locator("option")
    expect(options).to_have_count(2)
    assert options.evaluate_all("os => os.map(o => o.value)") == [
        "properties.category",
        "properties.price",
    ]
    prop = flt.get_by_label("Event property")
    assert prop.get_attribute("list")
    prop.fill("properties.category")
    values = flt.get_by_test_id("pz-value-suggestions").locator("option")
    expect(values).to_have_count(2)
    assert values.evaluate_all("os => os.map(o => o.value)") == ["shoes", "hats"]
    assert page_errors == []
