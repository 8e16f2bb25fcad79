"""Admin forms of optimizations: the setup form and the eligible-arms formset run the
services' checks (`experiments.services.optimization_validation`), so a bad setup is a form
error, never a 500."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from experiments.forms import _kept_forms
from experiments.models import Optimization, OptimizationArm, OptimizationStatus
from experiments.policy.features import DEFAULT_TOP_K
from experiments.services.optimization import OPTIMIZATION_FIELDS
from experiments.services.optimization_validation import (
    features_errors,
    goal_errors,
    optimization_arms_errors,
    optimization_fields_errors,
    optimization_slot_errors,
    promotion_errors,
)
from experiments.services.validation import merge
from segments.models import Segment
from segments.selectors.catalog import site_field_catalog

FEATURES_HELP = (
    "A JSON list; each feature has a kind: "
    '<code>{"kind": "category", "field": "context.device_type", "top_k": 8}</code> (one column '
    "per frequent value), "
    '<code>{"kind": "number", "field": "profile.age"}</code>, '
    '<code>{"kind": "flag", "field": "visitor.is_known"}</code>, '
    '<code>{"kind": "segment", "segment": "loyal"}</code> (a segment key of the site), '
    '<code>{"kind": "hour", "field": "context.local_time"}</code>, '
    '<code>{"kind": "weekday", "field": "context.local_time"}</code>, '
    '<code>{"kind": "recency"}</code> or <code>{"kind": "recency", "event": "purchase"}</code>, '
    '<code>{"kind": "frequency", "event": "purchase", "within_days": 30}</code>. Fields start '
    "with visitor., profile. or context.; at most 50 features. Fixed once started. "
)


class FeaturesField(forms.JSONField):
    """A JSON field that refuses nesting too deep to parse as a form error (not a 500)."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError as exc:
            raise ValidationError("The JSON is nested too deeply.", code="invalid") from exc

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return data

    def prepare_value(self, value: Any) -> Any:
        try:
            return super().prepare_value(value)
        except (RecursionError, ValueError):
            return value if isinstance(value, str) else json.dumps(None)


# --- the feature picker: rows the marketer fills instead of typing JSON --------------------

KIND_CHOICES = (
    ("", "---------"),
    ("category", "Category of a field"),
    ("number", "Number field"),
    ("flag", "Yes/no field"),
    ("segment", "Member of a segment"),
    ("hour", "Local hour"),
    ("weekday", "Weekday"),
    ("recency", "Days since last visit / event"),
    ("frequency", "Visits / count of an event"),
)
KIND_LABELS = dict(KIND_CHOICES)
FIELD_KINDS = ("category", "number", "flag", "hour", "weekday")
LOCAL_TIME = "context.local_time"
FEATURE_ROOTS = ("visitor.", "profile.", "context.")
ROW_FIELDS = ("kind", "field", "segment", "event", "within_days", "top_k")
ROWS_PREFIX = "feature_rows"
BOTH_EDITED_HELP = (
    "The rows above are what the model reads. Editing this JSON instead also works: when the "
    "JSON was edited and the rows were not, the JSON is saved; when both were edited, the rows "
    "win."
)


class FeatureRowForm(forms.Form):
    """One feature: only the inputs its kind uses go into the JSON (the rest are ignored)."""

    kind = forms.ChoiceField(choices=KIND_CHOICES)
    field = forms.ChoiceField(
        choices=(), required=False, help_text="For hour/weekday: context.local_time if empty."
    )
    segment = forms.ChoiceField(choices=(), required=False)
    event = forms.CharField(max_length=100, required=False, help_text="Empty: visits.")
    within_days = forms.IntegerField(required=False, help_text="Frequency of an event only.")
    top_k = forms.IntegerField(
        initial=DEFAULT_TOP_K, required=False, help_text="Category only: most frequent values."
    )

    def __init__(self, *args: Any, fields: list[str], segments: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "---------"), *((p, p) for p in fields)]
        self.fields["segment"].choices = [("", "---------"), *segments]

    def feature(self) -> dict[str, Any]:
        """The JSON declaration of this row (validated afterwards by `parse_feature_spec`)."""
        data = self.cleaned_data
        kind = data["kind"]
        item: dict[str, Any] = {"kind": kind}
        if kind in FIELD_KINDS:
            field = data.get("field") or (LOCAL_TIME if kind in ("hour", "weekday") else "")
            if field:
                item["field"] = field
        if kind == "category" and data.get("top_k") is not None:
            item["top_k"] = data["top_k"]
        if kind == "segment" and data.get("segment"):
            item["segment"] = data["segment"]
        if kind in ("recency", "frequency") and data.get("event"):
            item["event"] = data["event"].strip()
        if kind == "frequency" and data.get("within_days") is not None:
            item["within_days"] = data["within_days"]
        return item


FeatureRowFormSet = forms.formset_factory(FeatureRowForm, extra=2, can_delete=True)


def feature_rows_initial(features: Any) -> list[dict[str, Any]]:
    """Stored declarations as row values (anything not a list of objects shows no rows)."""
    if not isinstance(features, list):
        return []
    rows = []
    for item in features:
        if not isinstance(item, dict):
            return []
        rows.append({name: item[name] for name in ROW_FIELDS if name in item})
    return rows


def feature_row_label(item: Any) -> dict[str, str]:
    """A stored declaration in words, for the read-only rows of a started optimization."""
    if not isinstance(item, dict):
        return {"kind": str(item), "detail": ""}
    kind = item.get("kind")
    parts = [
        f"{name.replace('_', ' ')}: {item[name]}"
        for name in ("field", "segment", "event", "within_days", "top_k")
        if name in item
    ]
    return {"kind": KIND_LABELS.get(kind, str(kind)), "detail": ", ".join(parts)}


class OptimizationForm(forms.ModelForm):
    """The setup form, with the feature picker (`feature_rows`, a formset of FeatureRowForm)
    beside the raw JSON. The admin sets `picker_site_ids`: the sites whose fields and segments
    a new optimization's rows may offer."""

    features = FeaturesField(
        required=False,  # the rows may fill it; an empty spec is the services' error
        help_text=f"{FEATURES_HELP} {BOTH_EDITED_HELP}",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    picker_site_ids: tuple[int, ...] = ()
    picker_editable = True

    class Meta:
        model = Optimization
        fields = ("site", *OPTIMIZATION_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.features if isinstance(self.instance.features, list) else []
        self.feature_rows_readonly = [feature_row_label(item) for item in stored]
        self._stored_features = stored
        self.feature_rows: Any = None
        self._row_forms: list[FeatureRowForm] = []
        self._rows_used = False  # the rows, not the JSON, made the saved features
        if "features" not in self.fields or not self.picker_editable:  # started, or a viewer
            return
        site_ids = [self.instance.site_id] if self.instance.pk else list(self.picker_site_ids)
        fields, segments = _picker_choices(site_ids=site_ids, features=stored)
        # Without the rows' management form (an API-like post of the JSON only) the JSON wins.
        posted = self.is_bound and f"{ROWS_PREFIX}-TOTAL_FORMS" in self.data
        self.feature_rows = FeatureRowFormSet(
            self.data if posted else None,
            prefix=ROWS_PREFIX,
            initial=feature_rows_initial(stored),
            form_kwargs={"fields": fields, "segments": segments},
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        rows = self.feature_rows
        if rows is None or not rows.is_bound:
            return cleaned
        if not rows.is_valid():
            self.add_error(None, "Check the rows of what the model may read.")
            return cleaned
        # Edited: it says something else than what is stored (an empty textarea is []).
        posted = cleaned.get("features")
        json_edited = "features" in cleaned and (posted if posted is not None else []) != (
            self._stored_features
        )
        if json_edited and not rows.has_changed():
            return cleaned  # the JSON was edited, the rows were not: the JSON wins
        # Otherwise the rows (when neither was edited they say what the JSON says).
        self._row_forms = [
            form for form in rows.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        cleaned["features"] = [form.feature() for form in self._row_forms]
        self._rows_used = True
        site = cleaned.get("site") or getattr(self.instance, "site", None)
        if site is not None:
            # The catalog's paths, and those already stored (the API accepts any path).
            known = {f.path for f in site_field_catalog(site=site)}
            known |= {i.get("field") for i in self._stored_features if isinstance(i, dict)}
            for form in self._row_forms:
                path = form.feature().get("field")
                if path and path not in known:
                    form.add_error("field", f"No field '{path}' in this site's catalog.")
        if any(form.errors for form in self._row_forms):
            self.add_error(None, "Check the rows of what the model may read.")
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # builds self.instance and runs the model's clean()
        if self.errors:
            return
        optimization = self.instance
        errors = optimization_fields_errors(optimization=optimization)
        merge(errors, goal_errors(optimization=optimization))
        merge(errors, features_errors(optimization=optimization))
        merge(errors, promotion_errors(optimization=optimization))
        if optimization.status == OptimizationStatus.RUNNING:
            merge(errors, optimization_slot_errors(optimization=optimization))
        rows_failed = False
        for field, messages in errors.items():
            if field.startswith("features") and self._rows_used:
                rows_failed = True
                self._row_error(field, messages)
                continue
            if field.startswith("features["):
                messages = [f"{field}: {m}" for m in messages]
                field = "features"
            self.add_error(field if field in self.fields else None, messages)
        if rows_failed:
            self.add_error(None, "Check the rows of what the model may read.")

    def _row_error(self, path: str, messages: list[str]) -> None:
        """`features[2].top_k` onto row 2's top_k; `features[2]` onto row 2; `features` on
        the rows as a whole."""
        if not path.startswith("features["):
            self.feature_rows._non_form_errors = self.feature_rows.error_class(
                [*self.feature_rows.non_form_errors(), *messages]
            )
            return
        index = int(path[len("features[") : path.index("]")])
        name = path[path.index("]") + 2 :] or None
        form = self._row_forms[index] if index < len(self._row_forms) else None
        if form is None:
            self.add_error(None, [f"{path}: {m}" for m in messages])
            return
        form.add_error(name if name in form.fields else None, messages)


def _picker_choices(
    *, site_ids: list[int], features: list[Any]
) -> tuple[list[str], list[tuple[str, str]]]:
    """The field paths (visitor., profile., context.) and segment keys the rows offer: those
    of the given sites, plus any the stored features already name (so editing keeps them)."""
    paths = {
        f.path
        for site_id in site_ids
        for f in site_field_catalog(site=site_id)
        if f.path.startswith(FEATURE_ROOTS)
    }
    stored = [item for item in features if isinstance(item, dict)]
    paths |= {i["field"] for i in stored if isinstance(i.get("field"), str)}
    rows = Segment.objects.filter(site_id__in=site_ids).order_by("key", "site__name")
    many = len(site_ids) > 1
    segments: dict[str, str] = {}
    for key, name, site_name in rows.values_list("key", "name", "site__name"):
        label = f"{key} ({name}, {site_name})" if many else f"{key} ({name})"
        segments[key] = f"{segments[key]}; {label}" if key in segments else label
    for item in stored:
        key = item.get("segment")
        if isinstance(key, str) and key and key not in segments:
            segments[key] = f"{key} (not on this site)"
    return sorted(paths), sorted(segments.items())


class OptimizationArmFormSet(BaseInlineFormSet):
    """At least two arms, each a distinct variant of the optimized slot; room for the floor."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        optimization = self.instance
        if not (optimization.placement_id or optimization.screen_id):
            return  # the setup form already says so
        arms: list[OptimizationArm] = [form.instance for form in _kept_forms(self)]
        errors = optimization_arms_errors(optimization=optimization, arms=arms)
        messages: list[str] = []
        for path, texts in errors.items():
            if path.startswith("arms["):
                index = int(path[5 : path.index("]")])
                rest = path[path.index("]") + 2 :].replace("_", " ")
                messages += [f"arm '{arms[index].key}' {rest}: {t}" for t in texts]
            else:
                messages += texts
        if messages:
            raise ValidationError(messages)
