"""Admin forms of experiments: the setup form and the arms and metrics formsets run the same
checks as the services (`experiments.services.validation`), so a bad setup is a form error,
never a 500."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from experiments.models import Arm, Experiment, ExperimentMetric, ExperimentStatus
from experiments.services.experiments import EXPERIMENT_FIELDS
from experiments.services.validation import (
    arms_errors,
    layer_errors,
    merge,
    metrics_errors,
    slot_conflict_errors,
)


class ExperimentForm(forms.ModelForm):
    keep_phase = forms.BooleanField(
        required=False,
        label="Keep the current phase",
        help_text="Live experiments only: when the weights change, keep the phase (units "
        "already assigned keep their arm) instead of starting a new phase.",
    )

    class Meta:
        model = Experiment
        fields = ("site", *EXPERIMENT_FIELDS)

    def _post_clean(self) -> None:
        super()._post_clean()  # builds self.instance and runs the model's clean()
        if self.errors:
            return
        errors = merge(layer_errors(experiment=self.instance), {})
        if self.instance.status == ExperimentStatus.RUNNING:
            merge(errors, slot_conflict_errors(experiment=self.instance))
        for field, messages in errors.items():
            self.add_error(field if field in self.fields else None, messages)


def _kept_forms(formset: BaseInlineFormSet) -> list[forms.ModelForm]:
    return [
        form
        for form in formset.forms
        if form.has_changed() or form.instance.pk
        if not (formset.can_delete and formset._should_delete_form(form))
    ]


def _messages(errors: dict[str, list[str]]) -> list[str]:
    return [f"{path}: {m}" if path else m for path, ms in errors.items() for m in ms]


class ArmFormSet(BaseInlineFormSet):
    """At least two arms, one control at most, each arm serving a variant of the slot."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        experiment = self.instance
        if not (experiment.placement_id or experiment.screen_id):
            return  # the setup form already says so
        arms: list[Arm] = [form.instance for form in _kept_forms(self)]
        errors = arms_errors(experiment=experiment, arms=arms)
        if errors:
            raise ValidationError(_messages(_arm_labels(errors, arms)))


def _arm_labels(errors: dict[str, list[str]], arms: list[Arm]) -> dict[str, list[str]]:
    """`arms[1].weight` → `arm 'b' weight`: the admin shows arms by key, not by index."""
    out: dict[str, list[str]] = {}
    for path, messages in errors.items():
        if path.startswith("arms["):
            index = int(path[5 : path.index("]")])
            rest = path[path.index("]") + 2 :]
            path = f"arm '{arms[index].key}' {rest.replace('_', ' ')}"
        else:
            path = ""
        out.setdefault(path, []).extend(messages)
    return out


class ExperimentMetricFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows: list[ExperimentMetric] = [form.instance for form in _kept_forms(self)]
        errors = metrics_errors(experiment=self.instance, metrics=rows)
        if errors:
            raise ValidationError([m for ms in errors.values() for m in ms])


class StopForm(forms.Form):
    winner = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect,
        help_text="Optional: publish this arm's variant as the slot's default (a new revision).",
    )

    def __init__(self, *args, experiment: Experiment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "No winner: just stop")]
        choices += [
            (arm.key, f"{arm} — {arm.variant}") for arm in experiment.arms.all() if arm.variant
        ]
        self.fields["winner"].choices = choices
