"""The visual criteria builder for `Segment.criteria` (react-querybuilder, see docs/builder.md).

The widget renders the criteria JSON in a plain `<textarea>` (the form value, and the no-JS
fallback) inside a container whose `data-*` attributes configure the bundled builder. The
bundle hides the textarea and keeps it in sync, so the form posts our own criteria JSON.
There is no inline script: everything is configured through attributes, escaped by Django.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.template import loader
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from segments.criteria import BUILTIN_FIELDS
from segments.criteria.labels import VALUE_LABELS

# The segments API the builder calls (session auth), relative to the script prefix.
API_ENDPOINTS: dict[str, str] = {
    "fields_url": "api/v1/fields/",
    "segments_url": "api/v1/segments/",
    "audience_url": "api/v1/segments/audience",
    "preview_url": "api/v1/segments/preview",
}


def builder_labels() -> dict[str, dict[str, str]]:
    """Words the builder shows for codes, in the active language: enum values (a site's own
    values without an entry read humanized by the bundle) and the built-in fields' labels."""
    return {
        "values": {code: translation.gettext(text) for code, text in VALUE_LABELS.items()},
        "fields": {
            path: translation.gettext(spec["label"]) for path, spec in BUILTIN_FIELDS.items()
        },
    }


class CriteriaBuilderWidget(forms.Widget):
    """Edits a criteria tree visually; posts the tree as a JSON string."""

    template_name = "segments/builder/widget.html"

    class Media:
        css = {"all": ["segments/builder/builder.css"]}
        js = ["segments/builder/builder.js"]

    def __init__(self, attrs: dict[str, Any] | None = None, *, site_field: str = "site") -> None:
        super().__init__(attrs=attrs)
        self.site_field = site_field
        # A form may set these, e.g. when the site select is read-only on a change form.
        self.site_id: int | str | None = None
        self.segment_key: str = ""

    def format_value(self, value: Any) -> str:
        """The JSON text of the tree ("" for nothing); strings are assumed to be JSON already."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> str | None:
        return data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data

    def builder_config(self) -> dict[str, str]:
        prefix = get_script_prefix()
        config = {key: prefix + path for key, path in API_ENDPOINTS.items()}
        config["event_properties_url"] = reverse("admin:segments_event_properties")
        # The page language picks the bundle's own strings; enum values and built-in field
        # labels come translated from here (segments.criteria.labels, one source of words).
        config["lang"] = translation.get_language() or "en"
        config["labels"] = json.dumps(builder_labels(), ensure_ascii=False, sort_keys=True)
        config["site_field"] = self.site_field
        config["site"] = "" if self.site_id is None else str(self.site_id)
        config["segment_key"] = self.segment_key or ""
        config["debounce"] = "400"
        return config

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        extra_class = context["widget"]["attrs"].pop("class", "")
        context["widget"]["source_class"] = f"pz-source vLargeTextField {extra_class}".strip()
        context["widget"]["builder"] = {
            f"data-{key.replace('_', '-')}": val for key, val in self.builder_config().items()
        }
        return context

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        # The project's template engine (not the form renderer's) finds templates/segments/….
        html = loader.render_to_string(self.template_name, self.get_context(name, value, attrs))
        return mark_safe(html)  # rendered by an autoescaping template
