"""The Python side of the builder widget: markup, media, configuration and round-trips."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django import forms
from django.test import override_settings

from segments.builder.widgets import CriteriaBuilderWidget

TREE = {
    "all": [
        {"field": "profile.city", "op": "eq", "value": "</script><img src=x onerror=alert(1)>"},
        {"event": "purchase", "where": {"all": []}, "within_days": 90},
        {"segment": "vip"},
        {"rollout": 25, "salt": "s"},
    ]
}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.textarea = ""
        self._in_textarea = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_textarea = tag == "textarea"

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._in_textarea = False

    def handle_data(self, data: str) -> None:
        if self._in_textarea:
            self.textarea += data


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    # Browsers drop the newline right after <textarea>; so do we.
    collector.textarea = collector.textarea.removeprefix("\n")
    return collector


class CriteriaForm(forms.Form):
    criteria = forms.JSONField(required=False, widget=CriteriaBuilderWidget())


def test_constructor_signature_and_defaults() -> None:
    widget = CriteriaBuilderWidget({"data-extra": "1"}, site_field="tenant")
    assert widget.site_field == "tenant"
    assert widget.attrs == {"data-extra": "1"}
    assert CriteriaBuilderWidget().site_field == "site"


def test_media_loads_the_committed_bundle() -> None:
    media = CriteriaBuilderWidget().media
    assert media._js == ["segments/builder/builder.js"]
    assert media._css == {"all": ["segments/builder/builder.css"]}
    rendered = str(media)
    assert "builder.js" in rendered and "builder.css" in rendered


def test_render_has_config_in_data_attributes_and_no_inline_script() -> None:
    html = CriteriaBuilderWidget(site_field="site").render(
        "criteria", json.dumps(TREE), {"id": "id_criteria"}
    )
    doc = parse(html)
    root_tag, root = doc.tags[0]
    assert root_tag == "div" and "data-pz-builder" in root
    assert root["data-site-field"] == "site"
    assert root["data-fields-url"] == "/api/v1/fields/"
    assert root["data-segments-url"] == "/api/v1/segments/"
    assert root["data-audience-url"] == "/api/v1/segments/audience"
    assert root["data-preview-url"] == "/api/v1/segments/preview"
    assert root["data-debounce"] == "400"
    assert "<script" not in html
    assert not [k for _, attrs in doc.tags for k in attrs if k.startswith("on")]
    textarea = next(attrs for tag, attrs in doc.tags if tag == "textarea")
    assert textarea["name"] == "criteria" and textarea["id"] == "id_criteria"
    assert "pz-source" in (textarea["class"] or "")


def test_stored_values_are_escaped_and_round_trip() -> None:
    html = CriteriaBuilderWidget().render("criteria", TREE)
    assert "</script>" not in html and "<img" not in html
    assert json.loads(parse(html).textarea) == TREE


def test_site_and_key_from_the_form(settings: Any) -> None:
    widget = CriteriaBuilderWidget()
    widget.site_id = 7
    widget.segment_key = 'a"b'
    root = parse(widget.render("criteria", "{}")).tags[0][1]
    assert root["data-site"] == "7"
    assert root["data-segment-key"] == 'a"b'


@override_settings(FORCE_SCRIPT_NAME="/personalize/")
def test_endpoints_follow_the_script_prefix() -> None:
    from django.urls import set_script_prefix

    set_script_prefix("/personalize/")
    try:
        root = parse(CriteriaBuilderWidget().render("criteria", "{}")).tags[0][1]
    finally:
        set_script_prefix("/")
    assert root["data-audience-url"] == "/personalize/api/v1/segments/audience"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("", ""), ('{"all": []}', '{"all": []}'), (TREE, json.dumps(TREE)), ([], "[]")],
)
def test_format_value(value: Any, expected: str) -> None:
    assert CriteriaBuilderWidget().format_value(value) == expected


def test_value_from_datadict_and_omitted() -> None:
    widget = CriteriaBuilderWidget()
    assert widget.value_from_datadict({"criteria": '{"any": []}'}, {}, "criteria") == '{"any": []}'
    assert widget.value_from_datadict({}, {}, "criteria") is None
    assert widget.value_omitted_from_data({}, {}, "criteria")
    assert not widget.value_omitted_from_data({"criteria": ""}, {}, "criteria")


def test_form_round_trip_through_the_widget() -> None:
    initial = CriteriaForm(initial={"criteria": TREE})
    posted = parse(str(initial["criteria"])).textarea
    bound = CriteriaForm(data={"criteria": posted}, initial={"criteria": TREE})
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["criteria"] == TREE
    assert not bound.has_changed()


def test_invalid_json_is_rendered_back_verbatim() -> None:
    bound = CriteriaForm(data={"criteria": '{"all": [</script>'})
    assert not bound.is_valid()
    html = str(bound["criteria"])
    assert "</script>" not in html
    assert parse(html).textarea == '{"all": [</script>'


def test_extra_classes_are_merged() -> None:
    html = CriteriaBuilderWidget({"class": "wide"}).render("criteria", "{}")
    textarea = next(attrs for tag, attrs in parse(html).tags if tag == "textarea")
    assert textarea["class"] == "pz-source vLargeTextField wide"
    assert html.count("class=") == 3  # container, textarea, fallback note
