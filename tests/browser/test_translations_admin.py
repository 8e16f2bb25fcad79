"""Translations in the real admin, by clicking: the missing-translations matrix, the inline
under a variant, and "Preview as visitor" in a language (pytest-playwright + live_server)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from content.services.publishing import slot_publish
from tenancy.roles import Role
from tests.content.factories import localized_hero
from tests.factories import SiteFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hero(transactional_db: Any) -> Any:
    return localized_hero(SiteFactory(slug="alpha", name="Alpha"))


def login(page: Page, live_server: Any, site: Any, role: Role) -> None:
    user_with_role(site, role, username="editor")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("editor")


def test_fill_a_missing_translation_from_the_matrix(
    page: Page, live_server: Any, hero: Any, page_errors: list[str]
) -> None:
    login(page, live_server, hero.site, Role.EDITOR)
    page.goto(f"{live_server.url}/admin/content/placement/")
    expect(page.locator("td.field-missing_translations")).to_have_text("missing: fr (1), es (1)")

    page.get_by_role("link", name="hero", exact=True).click()
    matrix = page.locator("table.translations-matrix")
    expect(matrix.locator("td.missing")).to_have_count(2)
    matrix.get_by_role("link", name="vip").click()

    # One prefilled row per missing language; fill the Spanish one only.
    languages = page.locator("select[name$='-language']:not([name*='__prefix__'])")
    expect(languages).to_have_count(2)
    expect(languages.nth(0)).to_have_value("fr")
    expect(languages.nth(1)).to_have_value("es")
    page.locator("textarea[name='translations-1-body']").fill("<p>VIP en español</p>")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Saved the translations")
    expect(page.locator("table.translations-matrix td.missing")).to_have_count(1)
    page.goto(f"{live_server.url}/admin/content/placement/")
    expect(page.locator("td.field-missing_translations")).to_have_text("missing: fr (1)")
    assert page_errors == []


def test_preview_as_visitor_in_a_language(page: Page, live_server: Any, hero: Any) -> None:
    # No page_errors check here: the preview page's date widgets are another change's fix.
    slot_publish(slot=hero)
    login(page, live_server, hero.site, Role.VIEWER)
    page.goto(f"{live_server.url}/admin/content/placement/preview/visitor/")
    page.get_by_label("Visitor document (JSON)").fill('{"visitor": {"id": "v-1"}}')
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Preview").click()
    row = page.locator("tr.preview-row[data-slot='placement:hero']")
    expect(row.locator("td.preview-language")).to_have_text("es")
    expect(row).to_contain_text("<p>Hola</p>")
