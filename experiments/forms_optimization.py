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
    "with visitor., profile. or context.; at most 50 features. Fixed once started."
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


class OptimizationForm(forms.ModelForm):
    features = FeaturesField(help_text=FEATURES_HELP, widget=forms.Textarea(attrs={"rows": 6}))

    class Meta:
        model = Optimization
        fields = ("site", *OPTIMIZATION_FIELDS)

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
        for field, messages in errors.items():
            if field.startswith("features["):
                messages = [f"{field}: {m}" for m in messages]
                field = "features"
            self.add_error(field if field in self.fields else None, messages)


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
