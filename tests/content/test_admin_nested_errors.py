"""Bug 1: path-keyed model errors (`body.src`, `design.root…`) reach the admin form at their
field, each with its JSON path, instead of a 500 (`has no field named 'body.src'`)."""

import json

import pytest
from django.urls import reverse

from content.models import ContentVariant, ScreenVariant
from content.models.slots import PlacementKind
from tests.content.factories import (
    ContentVariantFactory,
    PlacementFactory,
    ScreenFactory,
    ScreenVariantFactory,
)
from tests.content.test_admin import change_data, login

pytestmark = pytest.mark.django_db


def test_image_body_error_below_the_top_level_is_shown_at_the_body_with_its_path(site):
    placement = PlacementFactory(site=site, key="banner", kind=PlacementKind.IMAGE)
    ContentVariantFactory(placement=placement, key="default", body='{"src": "/a.png", "href": "/"}')
    client = login(site, "editor")
    bad = json.dumps({"src": "javascript:alert(1)", "href": "/"})
    res = client.post(
        reverse("admin:content_placement_change", args=[placement.pk]),
        change_data(placement, bodies={"default": bad}),
    )
    assert res.status_code == 200
    form = res.context["inline_admin_formsets"][0].formset.forms[0]
    assert form.errors["body"] == ["body.src: Use an http(s) URL or a path starting with /."]
    assert "body.src: Use an http(s) URL" in res.content.decode()
    assert ContentVariant.objects.get(placement=placement).body == '{"src": "/a.png", "href": "/"}'


def test_every_nested_schema_error_appears_at_its_path(site):
    schema = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "string"}}},
    }
    placement = PlacementFactory(
        site=site, key="offers", kind=PlacementKind.JSON, json_schema=schema
    )
    ContentVariantFactory(placement=placement, key="default", body='{"items": []}')
    client = login(site, "editor")
    res = client.post(
        reverse("admin:content_placement_change", args=[placement.pk]),
        change_data(
            placement, bodies={"default": '{"items": [1, "ok", 3]}'}, json_schema=json.dumps(schema)
        ),
    )
    assert res.status_code == 200
    errors = res.context["inline_admin_formsets"][0].formset.forms[0].errors["body"]
    assert [e.split(":")[0] for e in errors] == ["body.items[0]", "body.items[2]"]


def _screen_data(screen, design):
    variant = screen.variants.get()
    return {
        "name": screen.name,
        "description": "",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-id": str(variant.pk),
        "variants-0-screen": str(screen.pk),
        "variants-0-key": variant.key,
        "variants-0-name": variant.name,
        "variants-0-segment": "",
        "variants-0-priority": "100",
        "variants-0-starts_at_0": "",
        "variants-0-starts_at_1": "",
        "variants-0-ends_at_0": "",
        "variants-0-ends_at_1": "",
        "variants-0-design": json.dumps(design),
    }


def test_design_error_below_the_root_is_a_form_error_not_a_500(site):
    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default")
    client = login(site, "editor")
    res = client.post(
        reverse("admin:content_screen_change", args=[screen.pk]),
        _screen_data(screen, {"root": {"children": "not a list"}}),
    )
    assert res.status_code == 200
    errors = res.context["inline_admin_formsets"][0].formset.forms[0].errors["design"]
    assert errors and all(e.startswith("design.root") for e in errors)
    assert ScreenVariant.objects.get().design == {"root": {"type": "Screen", "children": []}}
