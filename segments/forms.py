"""Admin forms. Validation of criteria happens here (path-level messages); saving goes
through the services (segments.admin)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from segments.builder.widgets import CriteriaBuilderWidget
from segments.criteria import CriteriaError
from segments.models import Field, FieldType, Segment, SegmentKind
from segments.selectors.definitions import criteria_compile, criteria_errors
from segments.services.static import MAX_UPLOAD_BYTES, UPLOAD_MODES


class CriteriaFormField(forms.JSONField):
    """A criteria tree; blank means "everyone" ({"all": []})."""

    def to_python(self, value: Any) -> Any:
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            return {"all": []}
        try:
            return super().to_python(value)
        except RecursionError as exc:
            raise forms.ValidationError(_("The criteria are nested too deeply.")) from exc

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


UPLOAD_MODE_LABELS = {"replace": gettext_lazy("Replace"), "append": gettext_lazy("Append")}


class SegmentAdminForm(forms.ModelForm):
    criteria = CriteriaFormField(
        required=False, widget=CriteriaBuilderWidget(), label=gettext_lazy("Criteria")
    )
    members_csv = forms.FileField(
        required=False,
        label=gettext_lazy("Upload members (CSV)"),
        help_text=format_lazy(
            gettext_lazy(
                "Static segments: a CSV of user ids (a `user_id` column or one per line), at "
                "most {mb} MB. Invalid rows reject the whole file."
            ),
            mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        ),
    )
    upload_mode = forms.ChoiceField(
        label=gettext_lazy("Upload mode"),
        choices=[(m, UPLOAD_MODE_LABELS.get(m, m.capitalize())) for m in UPLOAD_MODES],
        initial="replace",
        required=False,
    )

    class Meta:
        model = Segment
        fields = ["site", "key", "name", "description", "kind", "status", "criteria"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["criteria"].widget
        if self.instance.pk and hasattr(widget, "site_id"):
            # On the change page the site is read-only: tell the builder which site it edits.
            widget.site_id = self.instance.site_id
            widget.segment_key = self.instance.key

    def _site_id(self) -> int | None:
        if self.instance.pk:
            return self.instance.site_id
        site = self.cleaned_data.get("site")
        return site.pk if site else None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = self.instance.kind if self.instance.pk else data.get("kind")
        site_id = self._site_id()
        if kind == SegmentKind.DYNAMIC and site_id and "criteria" in data:
            key = self.instance.key if self.instance.pk else data.get("key")
            try:
                criteria_compile(site=site_id, tree=data["criteria"], segment_key=key or None)
            except CriteriaError as exc:
                self.add_error(
                    "criteria",
                    [f"{e['path']}: {e['message']}" for e in criteria_errors(error=exc)],
                )
        if data.get("members_csv") and kind != SegmentKind.STATIC:
            self.add_error("members_csv", _("Only static segments take uploaded user ids."))
        if data.get("members_csv") and data["members_csv"].size > MAX_UPLOAD_BYTES:
            self.add_error("members_csv", _("The file is too large."))
        return data


class FieldAdminForm(forms.ModelForm):
    allowed_values = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=gettext_lazy("Allowed values"),
        help_text=gettext_lazy("Enum and list fields: one allowed value per line."),
    )

    class Meta:
        model = Field
        fields = ["site", "path", "type", "label", "help_text", "allowed_values"]
        help_texts = {"label": gettext_lazy("Leave blank to derive it from the path.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = self.instance.allowed_values if self.instance.pk else []
        self.initial["allowed_values"] = "\n".join(str(v) for v in values or [])
        if "type" in self.fields:
            self.fields["type"].choices = FieldType.choices
        if "label" in self.fields:
            self.fields["label"].required = False

    def clean_allowed_values(self) -> list[str]:
        text = self.cleaned_data.get("allowed_values") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]
