"""The builder on a static page with the real widget markup and a fake API (no server)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from segments.criteria import BUILTIN_FIELDS as CATALOG
from segments.criteria.examples import criteria_examples, example_tree
from tests.browser.conftest import BUILTIN_FIELDS

pytestmark = pytest.mark.browser

EVENT = example_tree("detroit-shoe-shoppers")["all"][3]

EVERYTHING = {
    "all": [
        {"field": "profile.age", "op": "between", "value": [20, 30]},
        {"field": "profile.gender", "op": "in", "value": ["female", "other"]},
        {"field": "profile.city", "op": "eq", "value": "Detroit", "case_sensitive": True},
        {"field": "profile.birth_date", "op": "lt", "value": "2000-01-01"},
        {"field": "profile.interests", "op": "contains_all", "value": ["shoes", "bags"]},
        {"field": "context.app_version", "op": "between", "value": ["3.0", "3.2"]},
        {"field": "context.local_time", "op": "hour_between", "value": [18, 6]},
        {"field": "context.local_time", "op": "day_of_week_in", "value": [1, 5]},
        {"field": "visitor.first_seen", "op": "within_last", "value": {"days": 14}},
        {
            "field": "context.location",
            "op": "within_km",
            "value": {"lat": 42.3, "lng": -83.0, "km": 25},
        },
        {"field": "context.in_car", "op": "is_true"},
        {"field": "profile.unknown_trait", "op": "eq", "value": 3},
        {"any": [{"none": [{"field": "profile.city", "op": "is_set"}]}, {"segment": "vip"}]},
        EVENT,
        {"rollout": 25, "salt": "spring"},
        {"mystery": True},
    ]
}


def one_rule_verdict(passed: bool, summary: str) -> tuple[int, dict[str, Any]]:
    """A preview answer for a one-condition tree."""
    rule = {"path": "$.all[0]", "passed": passed, "summary": summary}
    root = {"path": "$", "passed": passed, "summary": "all of 1", "children": [rule]}
    return 200, {"matches": passed, "explanation": root}


def stored(page: Any) -> Any:
    return json.loads(page.locator("textarea[name=criteria]").input_value())


def test_every_construct_loads_and_saves_unchanged(
    harness: Any, page: Any, page_errors: list[str]
) -> None:
    harness(EVERYTHING, fields=BUILTIN_FIELDS, segments=[{"id": 1, "key": "vip", "name": "VIPs"}])
    expect(page.locator(".pz-qb .rule").first).to_be_visible()
    assert stored(page) == EVERYTHING
    assert json.loads(page.get_by_test_id("pz-json").text_content()) == EVERYTHING
    assert page.locator("textarea[name=criteria]").is_hidden()
    # Every form control in the builder has an accessible name.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll(
                '.pz-app input, .pz-app select, .pz-app textarea, .pz-app button')]
            .filter(el => !(
                el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
            .map(el => el.outerHTML)"""
    )
    assert unnamed == []
    assert page_errors == []


def test_every_shared_example_loads_and_saves_unchanged(
    harness: Any, page: Any, page_errors: list[str]
) -> None:
    """The trees of segments/criteria/examples.json, with the full catalog they are written for."""
    examples = criteria_examples()
    custom = {path: kind for e in examples for path, kind in e.get("fields", {}).items()}
    catalog = {path: dict(spec) for path, spec in CATALOG.items()}
    catalog.update(
        {
            p: {"type": t, "label": p, "help_text": "", "allowed_values": []}
            for p, t in custom.items()
        }
    )
    fields = [
        {"id": i, "site": 1, "path": path, "builtin": True, **spec}
        for i, (path, spec) in enumerate(catalog.items(), start=1)
    ]
    segments = [{"id": i, "key": e["name"], "name": e["title"]} for i, e in enumerate(examples)]
    tree = {"any": [example["tree"] for example in examples]}
    harness(tree, fields=fields, segments=segments)
    expect(page.locator(".pz-qb .rule").first).to_be_visible()
    assert stored(page) == tree
    assert json.loads(page.get_by_test_id("pz-json").text_content()) == tree
    assert page_errors == []


def test_editing_each_kind_of_value(harness: Any, page: Any) -> None:
    harness(
        {
            "all": [
                {
                    "field": "context.location",
                    "op": "within_km",
                    "value": {"lat": 1, "lng": 2, "km": 3},
                }
            ]
        },
        fields=BUILTIN_FIELDS,
    )
    page.get_by_label("Radius in km").fill("15")
    assert stored(page)["all"][0]["value"] == {"lat": 1, "lng": 2, "km": 15}
    field = page.get_by_label("Field").first
    field.select_option("context.local_time")
    page.get_by_label("Operator").first.select_option("day_of_week_in")
    page.get_by_label("Sat").uncheck()
    page.get_by_label("Mon").check()
    assert stored(page)["all"][0] == {
        "field": "context.local_time",
        "op": "day_of_week_in",
        "value": [1, 7],
    }
    page.get_by_label("Operator").first.select_option("within_last")
    page.get_by_label("Number of days").fill("7")
    assert stored(page)["all"][0]["value"] == {"days": 7}
    field.select_option("profile.gender")
    page.get_by_label("Operator").first.select_option("in")
    page.get_by_label("Value for Gender").select_option(["female", "other"])
    assert stored(page)["all"][0] == {
        "field": "profile.gender",
        "op": "in",
        "value": ["female", "other"],
    }
    field.select_option("profile.city")
    page.get_by_label("Value for City").fill("Paris")
    page.get_by_label("Case-sensitive").check()
    assert stored(page)["all"][0] == {
        "field": "profile.city",
        "op": "eq",
        "value": "Paris",
        "case_sensitive": True,
    }
    field.select_option("__rollout__")
    page.get_by_label("Percent of visitors").fill("30")
    page.get_by_label("Salt (optional; defaults to the segment key)").fill("spring")
    assert stored(page)["all"][0] == {"rollout": 30, "salt": "spring"}
    page.get_by_label("Group matches").first.select_option("none")
    assert list(stored(page)) == ["none"]


def test_server_error_is_shown_at_its_rule(harness: Any, page: Any) -> None:
    def audience(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        rules = body["criteria"]["all"]
        if len(rules) > 1 and rules[1].get("value") == "(":
            return 400, {
                "error": {
                    "code": "invalid",
                    "message": "Invalid criteria.",
                    "fields": [
                        {
                            "path": "criteria.all[1].value",
                            "message": "Not a valid regular expression.",
                        }
                    ],
                }
            }
        return 200, {"count": 7, "sample": [{"user_id": "u-1", "traits": {"city": "Detroit"}}]}

    api = harness(
        {
            "all": [
                {"field": "profile.age", "op": "gt", "value": 3},
                {"field": "profile.city", "op": "matches", "value": "x"},
            ]
        },
        fields=BUILTIN_FIELDS,
    )
    api.audience = audience
    page.get_by_label("Value for City").fill("(")
    error = page.locator(".pz-rule-error")
    expect(error).to_have_text("Not a valid regular expression.")
    rule = page.locator('[data-rule-key="1"]')
    expect(rule.locator(".pz-rule-error")).to_be_visible()
    expect(rule.get_by_label("Value for City")).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-rule-key="0"] .pz-rule-error')).to_have_count(0)
    page.get_by_label("Value for City").fill("^De")
    expect(page.get_by_test_id("pz-count")).to_have_text("7")
    expect(error).to_have_count(0)


def test_site_select_drives_catalog_and_audience(harness: Any, page: Any) -> None:
    api = harness({"all": []}, fields=BUILTIN_FIELDS)
    api.audience = lambda body: (200, {"count": body["site"] * 10, "sample": []})
    page.locator("select[name=site]").select_option("2")
    expect(page.get_by_test_id("pz-count")).to_have_text("20")
    sites = {body["site"] for path, body in api.requests if path == "/api/v1/segments/audience"}
    assert 2 in sites
    assert any(path == "/api/v1/fields/" for path, _ in api.requests)


def test_visitor_tester_shows_match_and_explanation(harness: Any, page: Any) -> None:
    api = harness(
        {"all": [{"field": "profile.age", "op": "gt", "value": 3}]}, fields=BUILTIN_FIELDS
    )
    api.preview = lambda body: one_rule_verdict(False, "profile.age 2 > 3")
    page.get_by_text("Test a visitor").click()
    page.get_by_role("button", name="Test visitor").click()
    expect(page.get_by_test_id("pz-match")).to_contain_text("No match")
    expect(page.locator('[data-rule-key="0"] .pz-verdict')).to_contain_text("fails")
    body = next(b for path, b in api.requests if path == "/api/v1/segments/preview")
    assert body["document"]["profile"]["age"] == 25
    page.get_by_label("a stored profile").check()
    page.get_by_label("Profile user id").fill("u-42")
    # The first answer is still on screen: wait for the second one, not for the verdict.
    with page.expect_response("**/api/v1/segments/preview"):
        page.get_by_role("button", name="Test visitor").click()
    expect(page.get_by_test_id("pz-match")).to_be_visible()
    assert [b for p, b in api.requests if p == "/api/v1/segments/preview"][-1]["user_id"] == "u-42"


def test_markup_in_names_and_values_is_inert(
    harness: Any, page: Any, page_errors: list[str]
) -> None:
    evil = "<img src=x onerror=alert(1)>"
    criteria = {
        "all": [
            {"segment": "evil"},
            {"field": "profile.city", "op": "eq", "value": "</script><script>alert(2)</script>"},
        ]
    }
    harness(
        criteria,
        fields=BUILTIN_FIELDS,
        segments=[{"id": 9, "key": "evil", "name": evil}],
        audience=lambda body: (
            200,
            {"count": 1, "sample": [{"user_id": evil, "traits": {"name": evil}}]},
        ),
    )
    expect(page.get_by_test_id("pz-count")).to_have_text("1")
    expect(page.get_by_label("Segment", exact=True)).to_contain_text(evil)
    assert page.locator(".pz-app img").count() == 0
    assert stored(page) == criteria
    assert page_errors == []


STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'"
)


def test_works_under_a_strict_content_security_policy(
    harness: Any, page: Any, page_errors: list[str]
) -> None:
    page.add_init_script(
        """document.addEventListener('securitypolicyviolation', e =>
            (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI));"""
    )
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    api = harness(EVERYTHING, fields=BUILTIN_FIELDS, csp=STRICT_CSP)
    api.audience = lambda body: (200, {"count": 3, "sample": []})
    page.get_by_role("button", name="Add condition").first.click()
    expect(page.get_by_test_id("pz-count")).to_have_text("3")
    page.get_by_text("Test a visitor").click()
    page.get_by_role("button", name="Test visitor").click()
    expect(page.get_by_test_id("pz-match")).to_be_visible()
    page.get_by_text("JSON (read-only)").click()
    assert page.evaluate("window.__csp || []") == []
    assert refused == []
    assert page_errors == []


def test_keyboard_only_editing(harness: Any, page: Any) -> None:
    harness({"all": []}, fields=BUILTIN_FIELDS)
    page.get_by_role("button", name="Add condition").focus()
    page.keyboard.press("Enter")
    active = "() => document.activeElement.getAttribute('aria-label')"
    page.keyboard.press("Tab")  # + Group
    page.keyboard.press("Tab")
    assert page.evaluate(active) == "Field"
    page.keyboard.press("Tab")
    assert page.evaluate(active) == "Operator"
    page.keyboard.press("Tab")
    assert page.evaluate(active) == "Value for Age"
    page.keyboard.type("42")
    page.keyboard.press("Enter")  # must not submit the admin form
    assert stored(page) == {"all": [{"field": "profile.age", "op": "eq", "value": 42}]}
    assert page.url.endswith("/")
    page.keyboard.press("Tab")
    assert page.evaluate(active) == "Remove condition"
    page.keyboard.press("Enter")
    assert stored(page) == {"all": []}


def test_invalid_stored_json_falls_back_to_the_textarea(harness: Any, page: Any) -> None:
    harness('{"all": [', fields=BUILTIN_FIELDS, mounts=False)
    page.wait_for_function("() => !!window.PersonalizeBuilder")
    expect(page.locator(".pz-fallback-note")).to_be_visible()
    expect(page.locator("textarea[name=criteria]")).to_be_visible()
    expect(page.locator("textarea[name=criteria]")).to_have_value('{"all": [')
    assert page.locator(".pz-app").count() == 0


def test_visitor_verdict_is_cleared_when_the_visitor_or_the_criteria_change(
    harness: Any, page: Any
) -> None:
    """Bug 5: an old verdict must not stay on screen for a visitor or criteria it was not for."""
    api = harness(
        {"all": [{"field": "profile.age", "op": "gt", "value": 3}]}, fields=BUILTIN_FIELDS
    )
    api.preview = lambda body: one_rule_verdict(True, "age 25 > 3")
    match = page.get_by_test_id("pz-match")
    verdict = page.locator('[data-rule-key="0"] .pz-verdict')
    stale = page.get_by_test_id("pz-stale")
    page.get_by_text("Test a visitor").click()
    page.get_by_role("button", name="Test visitor").click()
    expect(match).to_contain_text("Match")
    expect(verdict).to_contain_text("passes")
    expect(stale).to_have_count(0)

    document = page.locator(".pz-tester textarea")
    original = document.input_value()
    document.fill("{ not json")  # the document becomes invalid: the verdict was for another one
    expect(match).to_have_count(0)
    expect(verdict).to_have_count(0)
    expect(page.locator(".pz-explain")).to_have_count(0)
    expect(stale).to_be_visible()

    document.fill(original)
    page.get_by_role("button", name="Test visitor").click()
    expect(match).to_contain_text("Match")
    expect(stale).to_have_count(0)

    page.get_by_label("Value for Age").fill("30")  # the criteria change
    expect(match).to_have_count(0)
    expect(verdict).to_have_count(0)
    expect(stale).to_be_visible()
