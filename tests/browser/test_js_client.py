"""The JS client (static/personalize/personalize.js) when decide fails or hangs (bug 6): no
uncaught promise rejection, the page keeps its default content, the error reaches `onError`
and a rejected promise the caller can catch; a `timeout` aborts a slow decide."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import STATIC

pytestmark = pytest.mark.browser

ORIGIN = "http://client.test"
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="/static/personalize/personalize.js"></script></head>
<body><div data-personalize="home_hero">Default hero</div>
<script>window.errors = [];</script></body></html>"""


@pytest.fixture
def client_page(page: Any) -> Any:
    """The page, with `decide` answered by `page.decide(route)` (set by each test)."""
    held: list[Any] = []

    def serve(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        if path.startswith("/static/"):
            body = (STATIC / path.removeprefix("/static/")).read_bytes()
            route.fulfill(status=200, content_type="application/javascript", body=body)
        elif path == "/api/v1/decide":
            page.decide(route, held)
        elif path == "/api/v1/events":
            route.fulfill(status=200, content_type="application/json", body='{"stored": 1}')
        else:
            route.fulfill(status=200, content_type="text/html", body=PAGE)

    page.route(f"{ORIGIN}/**", serve)
    yield page
    for route in held:  # answer what a test left hanging, so the context closes cleanly
        with contextlib.suppress(Exception):  # the page may be gone already
            route.fulfill(status=200, content_type="application/json", body="{}")


def test_failed_decide_keeps_default_content_and_reports_once(
    client_page: Any, page_errors: list[str]
) -> None:
    page = client_page
    page.decide = lambda route, held: route.fulfill(
        status=503,
        content_type="application/json",
        body=json.dumps({"error": {"code": "unavailable", "message": "Try later"}}),
    )
    page.goto(f"{ORIGIN}/")
    result = page.evaluate(
        """async () => {
            const pz = Personalize.init({key: "pk_test", onError: (e) => errors.push(
                {message: e.message, status: e.status, during: e.during})});
            const decision = await pz.run();   // resolves: the page is never left with a rejection
            return {decision, errors};
        }"""
    )
    assert result["decision"] is None
    assert result["errors"] == [{"message": "Try later", "status": 503, "during": "decide"}]
    expect(page.locator("[data-personalize=home_hero]")).to_have_text("Default hero")
    assert page.locator("[data-personalize=home_hero]").get_attribute("data-variant") is None

    caught = page.evaluate(
        """() => Personalize.init({key: "pk_test"}).decide({placements: ["home_hero"]})
            .then(() => "resolved", (e) => "caught " + e.status)"""
    )
    assert caught == "caught 503"
    # Without onError, run() still settles; the failure is logged, not thrown.
    page.evaluate("() => Personalize.init({key: 'pk_test'}).run()")
    page.wait_for_timeout(200)
    assert page_errors == []


def test_timeout_aborts_a_slow_decide(client_page: Any, page_errors: list[str]) -> None:
    page = client_page
    page.decide = lambda route, held: held.append(route)  # never answers
    page.goto(f"{ORIGIN}/")
    result = page.evaluate(
        """async () => {
            const started = performance.now();
            const pz = Personalize.init({key: "pk_test", timeout: 300,
                onError: (e) => errors.push({name: e.name, timeout: e.timeout, during: e.during})});
            const decision = await pz.run();
            return {decision, errors, waited: performance.now() - started};
        }"""
    )
    assert result["decision"] is None
    assert result["errors"] == [{"name": "TimeoutError", "timeout": True, "during": "decide"}]
    assert result["waited"] < 10_000  # settled by the timeout, not by the test's end
    expect(page.locator("[data-personalize=home_hero]")).to_have_text("Default hero")
    assert page_errors == []


def test_successful_run_still_fills_the_page(client_page: Any, page_errors: list[str]) -> None:
    page = client_page
    decision = {
        "placements": {
            "home_hero": {
                "variant": "spring",
                "reason": {"kind": "segment", "segment": "spring"},
                "content": {"kind": "text", "body": "Spring sale"},
            }
        }
    }
    page.decide = lambda route, held: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(decision)
    )
    page.goto(f"{ORIGIN}/")
    page.evaluate("() => Personalize.init({key: 'pk_test', timeout: 2000}).run()")
    expect(page.locator("[data-personalize=home_hero]")).to_have_text("Spring sale")
    assert page_errors == []


def test_client_keeps_and_echoes_experiment_assignments(
    client_page: Any, page_errors: list[str]
) -> None:
    page = client_page
    sent: list[dict[str, Any]] = []
    answers = [
        {"placements": {}, "assignments": {"hero-test": "1:treat"}},
        {"placements": {}, "assignments": {"cta-test": "2:control"}},
        {"placements": {}},
        {"placements": {}},
    ]

    def answer(route: Any, held: list[Any]) -> None:
        sent.append(json.loads(route.request.post_data))
        body = answers[len(sent) - 1]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.decide = answer
    page.goto(f"{ORIGIN}/")
    stored = page.evaluate(
        """async () => {
            const pz = Personalize.init({key: "pk_test"});
            await pz.decide({});
            await pz.decide({});
            await pz.decide({});
            const kept = localStorage.getItem("pz_assignments");
            pz.setConsent(false);
            await pz.decide({});
            return {kept, after: localStorage.getItem("pz_assignments")};
        }"""
    )
    assert "assignments" not in sent[0]["visitor"]
    assert sent[1]["visitor"]["assignments"] == {"hero-test": "1:treat"}
    assert sent[2]["visitor"]["assignments"] == {"hero-test": "1:treat", "cta-test": "2:control"}
    assert json.loads(stored["kept"]) == {"hero-test": "1:treat", "cta-test": "2:control"}
    # Without consent nothing is kept or echoed.
    assert stored["after"] is None and "assignments" not in sent[3]["visitor"]
    assert page_errors == []
