"""Whether an experiment's setup is consistent, as `{field path: [messages]}`: the admin shows
them as form errors and the API as 400s with the same paths (`arms[1].weight`).

The rules that involve only one row are the models' `clean`; these involve several rows:
the arms together, the arms against the slot, the layer's other experiments, and the other
experiments running on the same slot.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError

from experiments.models import (
    Arm,
    Experiment,
    ExperimentMetric,
    ExperimentStatus,
    Optimization,
    OptimizationStatus,
)
from experiments.selectors.experiments import experiments_in_layer, experiments_on_slot

Errors = dict[str, list[str]]


def _add(errors: Errors, path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def experiment_fields_errors(*, experiment: Experiment) -> Errors:
    """The model's own checks (field validators and `clean`), keyed by field name."""
    try:
        experiment.full_clean(exclude=["site"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return {k: list(v) for k, v in exc.message_dict.items()}
    return {}


def arms_errors(*, experiment: Experiment, arms: Sequence[Arm]) -> Errors:
    """At least two arms, unique keys, positive weights, at most one control, and every other
    arm serving a variant of the experiment's own slot (hence of its site)."""
    errors: Errors = {}
    if len(arms) < 2:
        _add(errors, "arms", "An experiment needs at least two arms.")
    seen: set[str] = set()
    controls = 0
    for index, arm in enumerate(arms):
        path = f"arms[{index}]"
        if arm.key in seen:
            _add(errors, f"{path}.key", f"The key '{arm.key}' is used by another arm.")
        seen.add(arm.key)
        if arm.weight is None or not arm.weight > 0:
            _add(errors, f"{path}.weight", "Give a weight greater than 0.")
        if arm.is_control:
            controls += 1
            if arm.content_variant_id or arm.design_variant_id:
                _add(
                    errors,
                    f"{path}.is_control",
                    "Control serves normal personalization: leave its variant empty.",
                )
            continue
        if experiment.placement_id:
            if arm.design_variant_id:
                _add(
                    errors, f"{path}.design_variant", "A placement's arm serves a content variant."
                )
            if not arm.content_variant_id:
                _add(errors, f"{path}.content_variant", "Choose a variant of the placement.")
            elif arm.content_variant.placement_id != experiment.placement_id:
                _add(
                    errors,
                    f"{path}.content_variant",
                    "Choose a variant of the experiment's placement.",
                )
        elif experiment.screen_id:
            if arm.content_variant_id:
                _add(errors, f"{path}.content_variant", "A screen's arm serves a screen design.")
            if not arm.design_variant_id:
                _add(errors, f"{path}.design_variant", "Choose a design of the screen.")
            elif arm.design_variant.screen_id != experiment.screen_id:
                _add(
                    errors, f"{path}.design_variant", "Choose a design of the experiment's screen."
                )
    if controls > 1:
        _add(errors, "arms", "At most one arm is the control.")
    return errors


def metrics_errors(*, experiment: Experiment, metrics: Sequence[ExperimentMetric]) -> Errors:
    errors: Errors = {}
    seen: set[int] = set()
    for index, row in enumerate(metrics):
        path = f"metrics[{index}].metric"
        if not row.metric_id:
            _add(errors, path, "Choose a metric.")
            continue
        if row.metric.site_id != experiment.site_id:
            _add(errors, path, "Choose a metric of the same site.")
        if row.metric_id in seen:
            _add(errors, path, "This metric is listed twice.")
        seen.add(row.metric_id)
    return errors


def layer_errors(*, experiment: Experiment) -> Errors:
    """The slice must not overlap the slice of another non-stopped experiment of the layer."""
    errors: Errors = {}
    for other in experiments_in_layer(experiment=experiment):
        if experiment.layer_start < other.layer_end and other.layer_start < experiment.layer_end:
            _add(
                errors,
                "layer_start",
                f"The slice [{experiment.layer_start:g}, {experiment.layer_end:g}) overlaps "
                f"experiment '{other.key}' [{other.layer_start:g}, {other.layer_end:g}) of the "
                "same layer.",
            )
    return errors


def slot_conflict_errors(*, experiment: Experiment) -> Errors:
    """One running experiment per slot, unless both share a layer (whose disjoint slices keep
    their visitors apart), and none beside a running optimization."""
    errors: Errors = {}
    if experiment.status != ExperimentStatus.RUNNING:
        return errors
    for other in experiments_on_slot(experiment=experiment):
        if experiment.layer_id and other.layer_id == experiment.layer_id:
            continue
        _add(
            errors,
            "placement" if experiment.placement_id else "screen",
            f"Experiment '{other.key}' is already running on this {experiment.slot_kind}; "
            "stop or pause it first, or put both in one layer with separate slices.",
        )
    # A running optimization decides the slot for every visitor: nothing to test beside it.
    slot = (
        {"placement_id": experiment.placement_id}
        if experiment.placement_id
        else {"screen_id": experiment.screen_id}
    )
    for key in Optimization.objects.filter(
        site_id=experiment.site_id, status=OptimizationStatus.RUNNING, **slot
    ).values_list("key", flat=True):
        _add(
            errors,
            "placement" if experiment.placement_id else "screen",
            f"Optimization '{key}' is running on this {experiment.slot_kind}; pause or stop "
            "it first.",
        )
    return errors


def experiment_setup_errors(
    *, experiment: Experiment, arms: Sequence[Arm], metrics: Sequence[ExperimentMetric]
) -> Errors:
    """Every check of an experiment about to be saved with these arms and metrics."""
    errors = experiment_fields_errors(experiment=experiment)
    slot_known = not ({"placement", "screen"} & errors.keys())
    if slot_known:
        merge(errors, arms_errors(experiment=experiment, arms=arms))
        merge(errors, slot_conflict_errors(experiment=experiment))
    merge(errors, metrics_errors(experiment=experiment, metrics=metrics))
    if "layer_end" not in errors and "layer" not in errors:
        merge(errors, layer_errors(experiment=experiment))
    return errors


def merge(errors: Errors, more: Errors) -> Errors:
    for path, messages in more.items():
        errors.setdefault(path, []).extend(messages)
    return errors


def raise_errors(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)
