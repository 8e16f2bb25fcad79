"""Impressions, clicks and conversions carry slot, variant and reason: validated with
paths, stored in columns, recorded by the template tag; consent false stores nothing."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from segments.models import Event
from tests.delivery.test_events import batch


def test_attribution_is_stored_in_columns(send_events, site):
    r = send_events(
        batch(
            {
                "kind": "impression",
                "name": "impression",
                "slot": "home_hero",
                "variant": "rainy",
                "reason": {"kind": "segment", "segment": "rainy-days"},
            },
            {
                "kind": "click",
                "name": "click",
                "slot": "home_hero",
                "variant": "b",
                "reason": {"kind": "experiment", "experiment": "hero-test", "arm": "b"},
            },
            {"kind": "impression", "name": "impression", "slot": "offers", "variant": "x"},
            {"kind": "conversion", "name": "purchase", "properties": {"price": 3}},
        )
    )
    assert r.status_code == 202, r.content
    rows = {
        (e.kind, e.slot): (e.variant, e.reason, e.reason_key)
        for e in Event.objects.filter(site=site)
    }
    assert rows == {
        ("impression", "home_hero"): ("rainy", "segment", "rainy-days"),
        ("click", "home_hero"): ("b", "experiment", "hero-test:b"),
        ("impression", "offers"): ("x", "", ""),
        ("conversion", ""): ("", "", ""),
    }


@pytest.mark.parametrize(
    ("event", "path", "message"),
    [
        ({"name": "signup", "slot": "hero"}, "events[0].kind", "Only impression"),
        ({"kind": "impression", "name": "i", "variant": "v"}, "events[0].slot", "required"),
        ({"kind": "click", "name": "c", "slot": ""}, "events[0].slot", "non-empty"),
        (
            {"kind": "impression", "name": "i", "slot": "s", "reason": {"kind": "luck"}},
            "events[0].reason",
            "kind is one of",
        ),
        (
            {"kind": "impression", "name": "i", "slot": "s", "reason": {"kind": "segment"}},
            "events[0].reason.segment",
            "required",
        ),
        (
            {"kind": "impression", "name": "i", "slot": "s" * 101},
            "events[0].slot",
            "At most 100",
        ),
    ],
    ids=["custom-event", "variant-without-slot", "empty-slot", "bad-kind", "no-segment", "long"],
)
def test_bad_attribution_is_a_400_with_its_path(send_events, site, event, path, message):
    r = send_events(batch(event))
    assert r.status_code == 400, r.content
    fields = r.json()["error"]["fields"]
    assert any(f["path"] == path and message in f["message"] for f in fields), fields
    assert not Event.objects.filter(site=site).exists()


def test_no_consent_stores_no_attribution(send_events, site):
    r = send_events(
        batch(
            {"kind": "impression", "name": "impression", "slot": "home_hero", "variant": "a"},
            visitor={"id": "anon-9", "consent": False},
        )
    )
    assert r.status_code == 202 and r.json()["stored"] == 0
    assert not Event.objects.filter(site=site).exists()


def render(source, request):
    return Template("{% load personalize %}" + source).render(Context({"request": request}))


def test_template_tag_records_one_impression_per_rendered_placement(config, site, settings):
    settings.PERSONALIZE_SITE = site.slug
    request = RequestFactory().get("/")
    request.COOKIES["pz_vid"] = "anon-tag"
    html = render('{% personalize "home_hero" %}{% personalize "home_hero" %}', request)
    assert 'data-personalize-slot="home_hero"' in html
    rows = list(Event.objects.filter(site=site).values("kind", "visitor_id", "slot", "variant"))
    assert rows == [
        {
            "kind": "impression",
            "visitor_id": "anon-tag",
            "slot": "home_hero",
            "variant": "hero-default",
        }
    ]
    assert Event.objects.get(site=site).reason == "default"


def test_template_tag_records_nothing_without_consent(config, site, settings):
    settings.PERSONALIZE_SITE = site.slug
    request = RequestFactory().get("/")
    request.COOKIES["pz_consent"] = "0"
    render('{% personalize "home_hero" %}', request)
    assert not Event.objects.filter(site=site).exists()
