"""Browser tests: pytest-playwright driving Debian's chromium (never a downloaded browser)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest-django's live_server and playwright's sync API share the test thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
BUNDLE = STATIC / "segments" / "builder" / "builder.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def page_errors(page: Any) -> Iterator[list[str]]:
    """Uncaught page errors and dialogs (an `alert` would mean an XSS)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_dialog(dialog: Any) -> None:
        errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield errors


@pytest.fixture(scope="module")
def adapter_page(browser: Any) -> Iterator[Any]:
    """A blank page with the bundle loaded: `window.PersonalizeBuilder.adapter` (one per module)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<!doctype html><html><head></head><body></body></html>")
    page.add_script_tag(path=str(BUNDLE))
    page.wait_for_function("() => !!window.PersonalizeBuilder")
    yield page
    context.close()


def admin_login(page: Any, base_url: str, username: str, password: str = "pw") -> Any:
    """Log in through the admin's login form; returns the page on the admin index."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(username)
    return page


HARNESS_ORIGIN = "http://builder.test"


class FakeApi:
    """Answers the builder's API calls on a static harness page (no server, no network)."""

    def __init__(self) -> None:
        self.fields: list[dict[str, Any]] = []
        self.segments: list[dict[str, Any]] = []
        self.audience: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] = lambda body: (
            200,
            {"count": 0, "sample": []},
        )
        self.preview: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] = lambda body: (
            200,
            {"matches": True, "explanation": {"path": "$", "passed": True, "summary": "all"}},
        )
        self.requests: list[tuple[str, Any]] = []

    def handle(self, route: Any) -> None:
        request = route.request
        url = request.url
        path = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
        body = json.loads(request.post_data) if request.post_data else None
        self.requests.append((path, body))
        if path == "/api/v1/fields/":
            status, data = 200, {"count": len(self.fields), "results": self.fields}
        elif path == "/api/v1/segments/":
            status, data = 200, {"count": len(self.segments), "results": self.segments}
        elif path == "/api/v1/segments/audience":
            status, data = self.audience(body)
        elif path == "/api/v1/segments/preview":
            status, data = self.preview(body)
        else:
            status, data = 404, {"error": {"code": "not_found", "message": path}}
        route.fulfill(status=status, content_type="application/json", body=json.dumps(data))


@pytest.fixture
def harness(page: Any) -> Callable[..., FakeApi]:
    """Serve a page with the real widget markup inside a form, the bundle and a fake API."""

    def open_harness(criteria: Any, *, fields: list[dict[str, Any]], **kwargs: Any) -> FakeApi:
        from segments.builder.widgets import CriteriaBuilderWidget

        api = FakeApi()
        api.fields = fields
        api.segments = kwargs.get("segments", [])
        # Set before the page loads: the first audience call may come before the test's next line.
        api.audience = kwargs.get("audience", api.audience)
        widget = CriteriaBuilderWidget()
        value = criteria if isinstance(criteria, str) else json.dumps(criteria)
        html = f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/segments/builder/builder.css">
<script src="/static/segments/builder/builder.js"></script></head>
<body><form method="post" action="/submit">
<input type="hidden" name="csrfmiddlewaretoken" value="token">
<select name="site"><option value="1" selected>Alpha</option>
<option value="2">Beta</option></select>
<input name="key" value="{kwargs.get("key", "this-segment")}">
{widget.render("criteria", value, {"id": "id_criteria"})}
</form></body></html>"""

        def serve(route: Any) -> None:
            path = re.sub(r"^https?://[^/]+", "", route.request.url).split("?")[0]
            if path.startswith("/static/"):
                file = STATIC / path.removeprefix("/static/")
                ctype = "text/css" if file.suffix == ".css" else "application/javascript"
                route.fulfill(status=200, content_type=ctype, body=file.read_bytes())
            elif path.startswith("/api/"):
                api.handle(route)
            else:
                headers = {"Content-Security-Policy": kwargs["csp"]} if "csp" in kwargs else {}
                route.fulfill(status=200, content_type="text/html", body=html, headers=headers)

        page.route(f"{HARNESS_ORIGIN}/**", serve)
        page.goto(f"{HARNESS_ORIGIN}/")
        page.wait_for_selector(".pz-app" if kwargs.get("mounts", True) else ".pz-source")
        return api

    return open_harness


BUILTIN_FIELDS: list[dict[str, Any]] = [
    {"path": "profile.age", "type": "number", "label": "Age"},
    {
        "path": "profile.gender",
        "type": "enum",
        "label": "Gender",
        "allowed_values": ["female", "male", "other"],
    },
    {"path": "profile.city", "type": "string", "label": "City"},
    {"path": "profile.birth_date", "type": "date", "label": "Birth date"},
    {"path": "profile.interests", "type": "list", "label": "Interests"},
    {
        "path": "profile.loyalty_tier",
        "type": "enum",
        "label": "Loyalty tier",
        "allowed_values": ["gold", "silver"],
    },
    {"path": "context.app_version", "type": "version", "label": "App version"},
    {"path": "context.local_time", "type": "datetime", "label": "Local time"},
    {"path": "context.location", "type": "geo", "label": "Location"},
    {"path": "context.in_car", "type": "boolean", "label": "In a car"},
    {"path": "visitor.visit_count", "type": "number", "label": "Visit count"},
    {"path": "visitor.first_seen", "type": "datetime", "label": "First seen"},
]
for _i, _f in enumerate(BUILTIN_FIELDS, start=1):
    _f.update({"id": _i, "site": 1, "help_text": "", "builtin": True})
    _f.setdefault("allowed_values", [])
