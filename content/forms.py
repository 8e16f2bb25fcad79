"""Forms of the content admin: the variant formsets of placements and screens, the visitor and
segment previews, scheduling and the design schema.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet

from content.models import DesignSchema
from content.models.schedules import ScheduleAction
from content.preview import SOURCES
from segments.models import Profile, Segment
from tenancy.models import Site, language_tag_canonical, validate_language_tag


class VariantFormSet(BaseInlineFormSet):
    """Exactly one default variant (no segment) per placement or screen."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        defaults = 0
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            if data.get("segment") is None:
                defaults += 1
        if defaults != 1:
            raise forms.ValidationError(
                f"Exactly one variant must be the default (no segment); there are {defaults}."
            )


class SiteChoiceMixin(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none())
    source = forms.ChoiceField(
        choices=list(SOURCES.items()), initial="published", widget=forms.RadioSelect
    )
    now = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        label="At time",
        help_text="Leave empty for now. Variants' active dates are checked against it.",
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first().pk


class PreviewVisitorForm(SiteChoiceMixin):
    profile = forms.ModelChoiceField(
        queryset=Profile.objects.none(),
        required=False,
        label="Stored profile",
        help_text="A known person; their traits, last context and recent events are used.",
    )
    document = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"}),
        label="Visitor document (JSON)",
        help_text='{"visitor": {...}, "profile": {...}, "context": {...}, "events": [...]}. '
        "With a profile too, these values override the stored ones.",
    )

    language = forms.ChoiceField(
        required=False,
        label="Language",
        help_text="See the content in one of the site's languages. Empty: the document's "
        "context.language, else the site's default.",
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, sites=sites, **kwargs)
        self.fields["profile"].queryset = Profile.objects.filter(site__in=sites).select_related(
            "site"
        )
        self.fields["profile"].label_from_instance = lambda p: f"{p.user_id} ({p.site})"
        self.set_language_choices(sites)

    def set_language_choices(self, sites: Any) -> None:
        """The languages of the user's sites (the chosen site's are checked in `clean`)."""
        tags = dict.fromkeys(tag for site in sites for tag in site.all_languages)
        self.fields["language"].choices = [("", "— from the visitor —"), *((t, t) for t in tags)]

    def clean_document(self) -> dict | None:
        text = self.cleaned_data.get("document", "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("The visitor document must be a JSON object.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        site, profile = data.get("site"), data.get("profile")
        if profile is not None and site is not None and profile.site_id != site.pk:
            self.add_error("profile", "This profile belongs to another site.")
        language = data.get("language")
        if language and site is not None and language not in site.all_languages:
            self.add_error("language", f"{site} does not publish {language}.")
        if profile is None and not data.get("document") and not self.errors:
            raise forms.ValidationError("Pick a stored profile or enter a visitor document.")
        return data


class PreviewSegmentForm(SiteChoiceMixin):
    segment = forms.ModelChoiceField(queryset=Segment.objects.none())

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, sites=sites, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(site__in=sites).select_related(
            "site"
        )
        self.fields["segment"].label_from_instance = lambda s: (
            f"{s.name} [{s.key}] ({s.site}, {s.status})"
        )

    def clean(self) -> dict:
        data = super().clean()
        site, segment = data.get("site"), data.get("segment")
        if site is not None and segment is not None and segment.site_id != site.pk:
            self.add_error("segment", "This segment belongs to another site.")
        return data


class ScheduleForm(forms.Form):
    action = forms.ChoiceField(choices=ScheduleAction.choices)
    run_at = forms.SplitDateTimeField(widget=AdminSplitDateTime, label="Run at")
    note = forms.CharField(max_length=500, required=False)


class DesignSchemaForm(forms.ModelForm):
    """Checks a new design schema against every current design before the admin saves it,
    so a refusal is a form error at the schema field (not a success page that saved nothing)."""

    class Meta:
        model = DesignSchema
        fields = ["site", "schema"]

    def clean(self) -> dict[str, Any]:
        from content.services.drafts import design_schema_update

        cleaned = super().clean()
        site, schema = cleaned.get("site"), cleaned.get("schema")
        if site is None or schema is None or self.errors:
            return cleaned
        try:
            with transaction.atomic():
                design_schema_update(site=site, schema=schema)
                transaction.set_rollback(True)  # a dry run: the admin's save_model writes
        except ValidationError as exc:
            for message in exc.messages:
                self.add_error("schema", message)
        return cleaned


class TranslationForm(forms.ModelForm):
    """A variant translation in the admin: the language in BCP 47's conventional case (so two
    rows `fr` and `FR` are caught as duplicates), a choice among the site's languages when the
    site lists them."""

    languages: list[str] = []  # set per variant by the inline

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.languages:
            current = self.instance.language if self.instance.pk else ""
            choices = dict.fromkeys([*self.languages, *([current] if current else [])])
            self.fields["language"] = forms.ChoiceField(
                choices=[("", "---------"), *((tag, tag) for tag in choices)],
                help_text=self.fields["language"].help_text,
            )

    def _update_errors(self, errors: ValidationError) -> None:
        # The model's errors are keyed by JSON path (`body.src`): show each on its field,
        # path first, rather than fail on a field the form does not have.
        if hasattr(errors, "error_dict"):
            by_field: dict[str, list[str]] = {}
            for key, messages in errors.message_dict.items():
                name = key.split(".")[0].split("[")[0]
                if name != key:
                    messages = [f"{key}: {message}" for message in messages]
                by_field.setdefault(name if name in self.fields else NON_FIELD_ERRORS, []).extend(
                    messages
                )
            errors = ValidationError(by_field)
        super()._update_errors(errors)

    def clean_language(self) -> str:
        value = self.cleaned_data["language"]
        validate_language_tag(value)
        return language_tag_canonical(value)
