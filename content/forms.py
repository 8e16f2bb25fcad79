"""Forms of the content admin: the variant formsets of placements and screens, the visitor and
segment previews, scheduling and the design schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib.admin.widgets import SELECT2_TRANSLATIONS, AdminSplitDateTime
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.urls import reverse_lazy
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from content.models import DesignSchema
from content.models.schedules import ScheduleAction
from content.preview import SOURCES
from segments.models import Profile, Segment
from tenancy.models import Site, language_tag_canonical, validate_language_tag

_TOP_LEVEL = re.compile(r"[.\[]")


class PathErrorsModelForm(forms.ModelForm):
    """Shows the models' path-keyed errors (`body.src`, `design.root.children[0]`) at the form
    field the path starts with, each message prefixed with its path. Django only knows field
    names and would answer a 500 (`has no field named 'body.src'`)."""

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            regrouped: dict[str, list[ValidationError]] = {}
            for path, field_errors in errors.error_dict.items():
                field = _TOP_LEVEL.split(path, maxsplit=1)[0]
                if path in self.fields or path == NON_FIELD_ERRORS:
                    regrouped.setdefault(path, []).extend(field_errors)
                    continue
                target = field if field in self.fields else NON_FIELD_ERRORS
                regrouped.setdefault(target, []).extend(
                    ValidationError(f"{path}: {message}")
                    for error in field_errors
                    for message in error.messages
                )
            errors = ValidationError(regrouped)
        super()._update_errors(errors)


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
                _("Exactly one variant must be the default (no segment); there are %(n)s.")
                % {"n": defaults}
            )


class SiteChoiceMixin(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), label=gettext_lazy("Site"))
    source = forms.ChoiceField(
        choices=list(SOURCES.items()),
        initial="published",
        widget=forms.RadioSelect,
        label=gettext_lazy("Source"),
    )
    now = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        label=gettext_lazy("At time"),
        help_text=gettext_lazy(
            "Leave empty for now. Variants' active dates are checked against it."
        ),
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first().pk


class ProfileAutocomplete(forms.Select):
    """A search-as-you-type profile picker (select2) for the site chosen in the same form.
    Only the selected profile is rendered: a site may have millions."""

    def __init__(self, *, url: Any, site_input: str = "id_site") -> None:
        super().__init__(
            attrs={
                "class": "pz-profile-autocomplete",
                "data-url": url,
                "data-site-input": site_input,
                "data-placeholder": _("Search by user id or trait (city:Detroit)"),
                "style": "width: 30em",
            }
        )

    def optgroups(self, name: str, value: list[str], attrs: dict | None = None) -> list:
        selected = [v for v in value if v and str(v).isdigit()]
        options = [self.create_option(name, "", "", False, 0)]
        queryset = getattr(self.choices, "queryset", None)
        if selected and queryset is not None:
            for index, profile in enumerate(queryset.filter(pk__in=selected), start=1):
                label = self.choices.field.label_from_instance(profile)
                options.append(self.create_option(name, profile.pk, label, True, index))
        return [(None, options, 0)]

    @property
    def media(self) -> forms.Media:
        i18n = SELECT2_TRANSLATIONS.get(get_language() or "")
        return forms.Media(
            js=[
                "admin/js/vendor/jquery/jquery.js",
                "admin/js/vendor/select2/select2.full.js",
                *([f"admin/js/vendor/select2/i18n/{i18n}.js"] if i18n else []),
                "admin/js/jquery.init.js",
                "content/admin/profile_autocomplete.js",
            ],
            css={"screen": ["admin/css/vendor/select2/select2.css", "admin/css/autocomplete.css"]},
        )


class PreviewVisitorForm(SiteChoiceMixin):
    profile = forms.ModelChoiceField(
        queryset=Profile.objects.none(),
        required=False,
        widget=ProfileAutocomplete(url=reverse_lazy("admin:content_preview_profiles")),
        label=gettext_lazy("Stored profile"),
        help_text=gettext_lazy(
            "A known person of the chosen site; their traits, last context and recent "
            "events are used."
        ),
    )
    document = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"}),
        label=gettext_lazy("Visitor document (JSON)"),
        help_text=gettext_lazy(
            '{"visitor": {...}, "profile": {...}, "context": {...}, "events": [...]}. '
            "With a profile too, these values override the stored ones."
        ),
    )

    language = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Language"),
        help_text=gettext_lazy(
            "See the content in one of the site's languages. Empty: the document's "
            "context.language, else the site's default."
        ),
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, sites=sites, **kwargs)
        self.fields["profile"].queryset = Profile.objects.filter(site__in=sites)
        self.fields["profile"].label_from_instance = lambda p: p.user_id
        self.set_language_choices(sites)

    def set_language_choices(self, sites: Any) -> None:
        """The languages of the user's sites (the chosen site's are checked in `clean`)."""
        tags = dict.fromkeys(tag for site in sites for tag in site.all_languages)
        self.fields["language"].choices = [("", _("— from the visitor —")), *((t, t) for t in tags)]

    def clean_document(self) -> dict | None:
        text = self.cleaned_data.get("document", "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON: %(error)s (line %(line)s).")
                % {"error": exc.msg, "line": exc.lineno}
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The visitor document must be a JSON object."))
        return value

    def clean(self) -> dict:
        data = super().clean()
        site, profile = data.get("site"), data.get("profile")
        if profile is not None and site is not None and profile.site_id != site.pk:
            self.add_error("profile", _("This profile belongs to another site."))
        language = data.get("language")
        if language and site is not None and language not in site.all_languages:
            self.add_error(
                "language",
                _("%(site)s does not publish %(language)s.") % {"site": site, "language": language},
            )
        if profile is None and not data.get("document") and not self.errors:
            raise forms.ValidationError(_("Pick a stored profile or enter a visitor document."))
        return data


class PreviewSegmentForm(SiteChoiceMixin):
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), label=gettext_lazy("Segment"))

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, sites=sites, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(site__in=sites).select_related(
            "site"
        )
        self.fields["segment"].label_from_instance = lambda s: (
            f"{s.name} [{s.key}] ({s.site}, {s.get_status_display()})"
        )

    def clean(self) -> dict:
        data = super().clean()
        site, segment = data.get("site"), data.get("segment")
        if site is not None and segment is not None and segment.site_id != site.pk:
            self.add_error("segment", _("This segment belongs to another site."))
        return data


class ScheduleForm(forms.Form):
    action = forms.ChoiceField(choices=ScheduleAction.choices, label=gettext_lazy("Action"))
    run_at = forms.SplitDateTimeField(widget=AdminSplitDateTime, label=gettext_lazy("Run at"))
    note = forms.CharField(max_length=500, required=False, label=gettext_lazy("Note"))


class DesignSchemaForm(PathErrorsModelForm):
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
