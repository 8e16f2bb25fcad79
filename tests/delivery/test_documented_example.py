"""The decide example of docs/integration.md and of the OpenAPI schema answers what the
seeded demo site really answers: the documented variants, for the documented reasons."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from delivery import services
from delivery.validation import validate_decide
from delivery.views import DECIDE_EXAMPLE, DECIDE_RESPONSE_EXAMPLE

DOC = Path(__file__).resolve().parents[2] / "docs" / "integration.md"


def documented_decide() -> tuple[dict, str]:
    """The request (JSON) and response (text with `…`) under `## POST /api/v1/decide`."""
    section = DOC.read_text().split("## `POST /api/v1/decide`", 1)[1]
    request, response = re.findall(r"```json\n(.*?)```", section, re.S)[:2]
    return json.loads(request), response


def slots(text: str) -> list[tuple[str, str, str]]:
    """(slot, variant, segment) as written in a response example."""
    return re.findall(r'"([a-z_]+)": \{"variant": "([^"]+)",.*?"segment": "([^"]+)"', text, re.S)


@pytest.fixture
def demo_site(db, monkeypatch):
    from personalize.demo import seed_demo
    from segments import demo as segments_demo

    monkeypatch.setattr(segments_demo, "PROFILES", 20)
    return seed_demo(create_admin=False).site


def decide_at_the_documented_time(site, body: dict) -> dict:
    # The example's events are dated; run it at the visitor's documented local time.
    now = datetime.fromisoformat(body["context"]["local_time"])
    data = validate_decide(body, now=now)
    return services.decide_for_visitor(site_id=site.pk, data=data, caller="public", now=now).body


def answer(body: dict) -> list[tuple[str, str, str]]:
    out = []
    for group in ("placements", "screens"):
        for key, decided in body.get(group, {}).items():
            out.append((key, decided["variant"], decided["reason"].get("segment", "")))
    return sorted(out)


@pytest.mark.django_db
def test_the_docs_decide_example_answers_the_documented_variants(demo_site):
    request, response = documented_decide()
    documented = sorted(slots(response))
    assert documented == [
        ("home", "rainy-evening", "rainy-evening"),
        ("home_hero", "detroit-shoes", "detroit-shoe-shoppers"),
    ]
    assert answer(decide_at_the_documented_time(demo_site, request)) == documented


@pytest.mark.django_db
def test_the_openapi_decide_example_answers_its_documented_response(demo_site):
    body = decide_at_the_documented_time(demo_site, DECIDE_EXAMPLE)
    assert answer(body) == answer(DECIDE_RESPONSE_EXAMPLE)
    hero = body["placements"]["home_hero"]["content"]
    assert hero == DECIDE_RESPONSE_EXAMPLE["placements"]["home_hero"]["content"]
    # Without her purchases she is not a Detroit shoe shopper: the events are what counts.
    without = {k: v for k, v in DECIDE_EXAMPLE.items() if k != "events"}
    assert (
        decide_at_the_documented_time(demo_site, without)["placements"]["home_hero"]["variant"]
        == "default"
    )
