"""Writes of experiments: setup (create, update), lifecycle (start, pause, resume, stop, with
the winner optionally published as the slot's default), weights and coverage.

Phases: a phase is a period in which buckets stay put, and results are computed per phase.
Starting opens phase 1 with a snapshot of the weights. Changing the weights of a live
experiment opens a new phase by default (only a new phase may re-bucket); "keep phase"
changes the weights within the phase, as bandits do, and units already assigned keep their
arm. Changing coverage never opens a phase: arm ranges grow in place, so raising coverage
moves no one who is already in.

Every change writes an entry in the content audit log of the slot under test and bumps
the site's configuration version, so delivery rebuilds its snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analytics.models import Metric
from content.models import ContentVariant, ScreenVariant
from content.services.drafts import content_variant_update, screen_variant_update
from content.services.publishing import slot_publish
from experiments.models import (
    Arm,
    Experiment,
    ExperimentMetric,
    ExperimentPhase,
    ExperimentStatus,
    MetricRole,
)
from experiments.selectors.experiments import LIVE_STATUSES
from experiments.services.slots import lock_row, slot_audit
from experiments.services.validation import (
    Errors,
    experiment_setup_errors,
    merge,
    raise_errors,
    slot_conflict_errors,
)
from tenancy.models import Site
from tenancy.services import site_config_bump

# What a setup may change; the rest (status, phase, dates) only the lifecycle services change.
EXPERIMENT_FIELDS = (
    "key",
    "name",
    "hypothesis",
    "layer",
    "layer_start",
    "layer_end",
    "placement",
    "screen",
    "audience",
    "coverage",
    "seed",
    "mode",
    "method",
    "tuning",
    "alpha",
    "bandit_floor",
)
# Fixed once the experiment has started: changing them would mix incomparable data in a
# phase (a new experiment is the honest way).
LOCKED_WHEN_STARTED = (
    "key",
    "layer",
    "layer_start",
    "layer_end",
    "placement",
    "screen",
    "seed",
    "mode",
    # Switching the analysis after seeing data is a way to fish for significance.
    "method",
)

Change = Literal[
    "create", "update", "start", "pause", "resume", "stop", "weights", "coverage", "delete"
]


class ArmSpec(TypedDict, total=False):
    key: str
    name: str
    weight: float
    is_control: bool
    content_variant: ContentVariant | None
    design_variant: ScreenVariant | None


class MetricSpec(TypedDict, total=False):
    metric: Metric
    role: str
    cuped_days: int


class SetupState(TypedDict):
    """What delivery buckets by; compared before and after an edit."""

    weights: dict[str, float]
    coverage: float


# --- helpers ---------------------------------------------------------------------------------


def _audit(
    experiment: Experiment,
    *,
    change: Change,
    user: AbstractBaseUser | None,
    details: dict[str, Any] | None = None,
) -> None:
    slot_audit(experiment, kind="experiment", change=change, user=user, details=details)


_lock = lock_row


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {key: round(w / total, 12) for key, w in weights.items()} if total > 0 else {}


def experiment_setup_state(*, experiment: Experiment) -> SetupState:
    return {
        "weights": {arm.key: arm.weight for arm in experiment.arms.all()},
        "coverage": experiment.coverage,
    }


def _current_phase(experiment: Experiment) -> ExperimentPhase | None:
    return (
        ExperimentPhase.objects.select_for_update()
        .filter(experiment=experiment, number=experiment.phase)
        .first()
    )


def _open_phase(experiment: Experiment, *, note: str) -> ExperimentPhase:
    """Close the current phase and open the next one with the arms' weights as they are now."""
    now = timezone.now()
    current = _current_phase(experiment)
    number = experiment.phase
    if current is not None:
        current.ended_at = now
        current.save(update_fields=["ended_at"])
        number += 1
    experiment.phase = number
    experiment.save(update_fields=["phase", "updated_at"])
    return ExperimentPhase.objects.create(
        experiment=experiment,
        number=number,
        started_at=now,
        coverage=experiment.coverage,
        weights=experiment_setup_state(experiment=experiment)["weights"],
        note=note,
    )


def _arm_instances(experiment: Experiment, arms: Sequence[ArmSpec]) -> list[Arm]:
    return [
        Arm(
            experiment=experiment,
            key=spec.get("key", ""),
            name=spec.get("name", ""),
            weight=spec.get("weight", 1.0),
            is_control=bool(spec.get("is_control", False)),
            content_variant=spec.get("content_variant"),
            design_variant=spec.get("design_variant"),
        )
        for spec in arms
    ]


def _metric_instances(
    experiment: Experiment, metrics: Sequence[MetricSpec]
) -> list[ExperimentMetric]:
    return [
        ExperimentMetric(
            experiment=experiment,
            metric=spec.get("metric"),
            role=spec.get("role", MetricRole.PRIMARY),
            cuped_days=spec.get("cuped_days", 0),
        )
        for spec in metrics
    ]


def _apply(experiment: Experiment, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(EXPERIMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown experiment fields {sorted(unknown)}")
    for name, value in data.items():
        setattr(experiment, name, value)


def _check_site(experiment: Experiment) -> Errors:
    """Related objects given as instances must be the experiment's site's (the API resolves
    them within the site already; this guards every other caller)."""
    errors: Errors = {}
    for name in ("placement", "screen", "audience", "layer"):
        related = getattr(experiment, name)
        if related is not None and related.site_id != experiment.site_id:
            errors.setdefault(name, []).append(f"Choose a {name} of the same site.")
    return errors


# --- setup -----------------------------------------------------------------------------------


def experiment_setup_saved(
    *,
    experiment: Experiment,
    before: SetupState | None,
    keep_phase: bool = False,
    user: AbstractBaseUser | None = None,
) -> None:
    """After an experiment and its arms were saved (by a service or the admin): a live
    experiment whose weights changed opens a new phase (or, with `keep_phase`, changes the
    current phase's weights); a coverage change updates the current phase. Then audit and
    bump."""
    after = experiment_setup_state(experiment=experiment)
    details: dict[str, Any] = {}
    if experiment.status in LIVE_STATUSES and before is not None:
        phase = _current_phase(experiment)
        weights_changed = _normalised(before["weights"]) != _normalised(after["weights"])
        if weights_changed and not keep_phase:
            phase = _open_phase(experiment, note="Weights changed.")
            details["new_phase"] = phase.number
        elif phase is not None:
            phase.weights = after["weights"]
            phase.coverage = after["coverage"]
            phase.save(update_fields=["weights", "coverage"])
        if weights_changed:
            details["weights"] = after["weights"]
        if before["coverage"] != after["coverage"]:
            details["coverage"] = after["coverage"]
    _audit(experiment, change="create" if before is None else "update", user=user, details=details)
    site_config_bump(site_id=experiment.site_id)


def experiment_create(
    *,
    site: Site,
    key: str,
    name: str,
    arms: Sequence[ArmSpec],
    metrics: Sequence[MetricSpec] = (),
    user: AbstractBaseUser | None = None,
    **fields: Any,
) -> Experiment:
    """A draft experiment with its arms and metrics; `fields` are among EXPERIMENT_FIELDS."""
    experiment = Experiment(site=site, key=key, name=name)
    _apply(experiment, fields)
    if not experiment.seed:
        experiment.seed = key
    arm_rows = _arm_instances(experiment, arms)
    metric_rows = _metric_instances(experiment, metrics)
    errors = _check_site(experiment)
    merge(
        errors, experiment_setup_errors(experiment=experiment, arms=arm_rows, metrics=metric_rows)
    )
    if Experiment.objects.filter(site=site, key=key).exists():
        errors.setdefault("key", []).append("An experiment with this key exists on the site.")
    raise_errors(errors)
    with transaction.atomic():
        experiment.save()
        Arm.objects.bulk_create(arm_rows)
        ExperimentMetric.objects.bulk_create(metric_rows)
        experiment_setup_saved(experiment=experiment, before=None, user=user)
    return experiment


def experiment_update(
    *,
    experiment: Experiment,
    data: Mapping[str, Any],
    arms: Sequence[ArmSpec] | None = None,
    metrics: Sequence[MetricSpec] | None = None,
    keep_phase: bool = False,
    user: AbstractBaseUser | None = None,
) -> Experiment:
    """Change the setup. `arms` / `metrics`, when given, replace the lists. Once started, the
    slot, layer slice, seed, mode, analysis method and the arms' keys, variants and control
    are fixed: only the weights may change (a new phase unless `keep_phase`)."""
    with transaction.atomic():
        experiment = _lock(experiment)
        before = experiment_setup_state(experiment=experiment)
        started = experiment.status != ExperimentStatus.DRAFT
        errors: Errors = {}
        if experiment.status == ExperimentStatus.STOPPED:
            raise ValidationError("A stopped experiment cannot change; copy it into a new one.")
        if started:
            for name in LOCKED_WHEN_STARTED:
                if name in data and data[name] != getattr(experiment, name):
                    errors.setdefault(name, []).append(
                        "Fixed once the experiment has started; create a new experiment."
                    )
        _apply(experiment, data)
        current_arms = list(experiment.arms.all())
        if arms is None:
            arm_rows = current_arms
        elif started:
            arm_rows = _reweighted_arms(current_arms, arms, errors)
        else:
            arm_rows = _arm_instances(experiment, arms)
        metric_rows = (
            list(experiment.metrics.select_related("metric"))
            if metrics is None
            else _metric_instances(experiment, metrics)
        )
        merge(errors, _check_site(experiment))
        merge(
            errors,
            experiment_setup_errors(experiment=experiment, arms=arm_rows, metrics=metric_rows),
        )
        if (
            "key" in data
            and Experiment.objects.filter(site_id=experiment.site_id, key=experiment.key)
            .exclude(pk=experiment.pk)
            .exists()
        ):
            errors.setdefault("key", []).append("An experiment with this key exists on the site.")
        raise_errors(errors)
        experiment.save()
        if arms is not None:
            if started:
                for arm in arm_rows:
                    arm.save(update_fields=["weight", "name"])
            else:
                experiment.arms.all().delete()
                Arm.objects.bulk_create(arm_rows)
        if metrics is not None:
            experiment.metrics.all().delete()
            ExperimentMetric.objects.bulk_create(metric_rows)
        experiment_setup_saved(
            experiment=experiment, before=before, keep_phase=keep_phase, user=user
        )
    return experiment


def _reweighted_arms(current: list[Arm], specs: Sequence[ArmSpec], errors: Errors) -> list[Arm]:
    """A started experiment's arms with new weights and names; anything else must not change."""
    by_key = {arm.key: arm for arm in current}
    if sorted(spec.get("key", "") for spec in specs) != sorted(by_key):
        errors.setdefault("arms", []).append(
            "Arms cannot be added or removed once the experiment has started: "
            f"keep exactly {', '.join(sorted(by_key))}."
        )
        return current
    for index, spec in enumerate(specs):
        arm = by_key[spec["key"]]
        for name in ("is_control", "content_variant", "design_variant"):
            if name in spec and spec[name] != getattr(arm, name):
                errors.setdefault(f"arms[{index}].{name}", []).append(
                    "Fixed once the experiment has started."
                )
        if "weight" in spec:
            arm.weight = spec["weight"]
        if "name" in spec:
            arm.name = spec["name"]
    return current


def experiment_delete(*, experiment: Experiment, user: AbstractBaseUser | None = None) -> None:
    """Delete an experiment with its assignments; a running one must be stopped first."""
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status == ExperimentStatus.RUNNING:
            raise ValidationError("Stop the experiment before deleting it.")
        _audit(experiment, change="delete", user=user)
        site_id = experiment.site_id
        experiment.delete()
        site_config_bump(site_id=site_id)


# --- lifecycle -------------------------------------------------------------------------------


def _status_error(rule: str, experiment: Experiment) -> ValidationError:
    return ValidationError({"status": f"{rule}; this one is {experiment.status}."})


def _set_status(experiment: Experiment, status: str, **fields: Any) -> None:
    experiment.status = status
    for name, value in fields.items():
        setattr(experiment, name, value)
    experiment.save(update_fields=["status", *fields, "updated_at"])


def experiment_start(*, experiment: Experiment, user: AbstractBaseUser | None = None) -> Experiment:
    """Draft → running: phase 1 opens with the arms' weights."""
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status != ExperimentStatus.DRAFT:
            raise _status_error("Only a draft can start", experiment)
        experiment.status = ExperimentStatus.RUNNING
        raise_errors(
            experiment_setup_errors(
                experiment=experiment,
                arms=list(experiment.arms.select_related("content_variant", "design_variant")),
                metrics=list(experiment.metrics.select_related("metric")),
            )
        )
        _set_status(experiment, ExperimentStatus.RUNNING, started_at=timezone.now(), phase=1)
        _open_phase(experiment, note="Started.")
        _audit(experiment, change="start", user=user)
        site_config_bump(site_id=experiment.site_id)
    return experiment


def experiment_pause(*, experiment: Experiment, user: AbstractBaseUser | None = None) -> Experiment:
    """Running → paused: visitors get normal personalization; the phase and assignments stay."""
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status != ExperimentStatus.RUNNING:
            raise _status_error("Only a running experiment can pause", experiment)
        _set_status(experiment, ExperimentStatus.PAUSED)
        _audit(experiment, change="pause", user=user)
        site_config_bump(site_id=experiment.site_id)
    return experiment


def experiment_resume(
    *, experiment: Experiment, user: AbstractBaseUser | None = None
) -> Experiment:
    """Paused → running, in the same phase (unless another experiment took the slot)."""
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status != ExperimentStatus.PAUSED:
            raise _status_error("Only a paused experiment can resume", experiment)
        experiment.status = ExperimentStatus.RUNNING
        raise_errors(slot_conflict_errors(experiment=experiment))
        _set_status(experiment, ExperimentStatus.RUNNING)
        _audit(experiment, change="resume", user=user)
        site_config_bump(site_id=experiment.site_id)
    return experiment


def experiment_stop(
    *,
    experiment: Experiment,
    winner: str | None = None,
    user: AbstractBaseUser | None = None,
) -> Experiment:
    """Running or paused → stopped; the phase closes. With `winner` (an arm key), the arm's
    variant becomes the slot's default and the slot is published (a new revision), in the same
    transaction: if publishing fails, the experiment keeps running."""
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status not in LIVE_STATUSES:
            raise _status_error("Only a running or paused experiment can stop", experiment)
        now = timezone.now()
        phase = _current_phase(experiment)
        if phase is not None and phase.ended_at is None:
            phase.ended_at = now
            phase.save(update_fields=["ended_at"])
        _set_status(experiment, ExperimentStatus.STOPPED, stopped_at=now)
        details: dict[str, Any] = {}
        if winner:
            arm = experiment.arms.filter(key=winner).first()
            if arm is None:
                raise ValidationError({"winner": f"No arm '{winner}' in this experiment."})
            revision = _publish_winner(experiment, arm, user=user)
            details = {"winner": arm.key, "revision": revision.number}
        _audit(experiment, change="stop", user=user, details=details)
        site_config_bump(site_id=experiment.site_id)
    return experiment


def _publish_winner(experiment: Experiment, arm: Arm, *, user: AbstractBaseUser | None):
    """Copy the arm's variant (content and translations) into the slot's default variant and
    publish the slot."""
    variant = arm.variant
    if variant is None:
        raise ValidationError(
            {"winner": "The control keeps normal personalization: there is nothing to publish."}
        )
    slot = experiment.slot
    default = slot.variants.filter(segment__isnull=True).first()
    if default is None:
        raise ValidationError({"winner": f"The {experiment.slot_kind} has no default variant."})
    if default.pk != variant.pk:
        field = "body" if experiment.placement_id else "design"
        data = {
            field: getattr(variant, field),
            "translations": {
                t.language: {field: getattr(t, field)} for t in variant.translations.all()
            },
        }
        try:
            if experiment.placement_id:
                content_variant_update(variant=default, data=data)
            else:
                screen_variant_update(variant=default, data=data)
        except ValidationError as exc:
            raise ValidationError({"winner": _messages(exc)}) from exc
    try:
        return slot_publish(
            slot=slot,
            user=user,
            note=f"Winner of experiment '{experiment.key}': arm '{arm.key}'.",
        )
    except ValidationError as exc:
        raise ValidationError({"winner": _messages(exc)}) from exc


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{path}: {m}" for path, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)


# --- weights and coverage --------------------------------------------------------------------


def experiment_change_weights(
    *,
    experiment: Experiment,
    weights: Mapping[str, float],
    keep_phase: bool = False,
    user: AbstractBaseUser | None = None,
) -> Experiment:
    """Set the arms' weights (`{arm_key: weight}`, every arm, each > 0). A live experiment opens
    a new phase, or with `keep_phase` changes the current phase's weights (assigned units
    keep their arm; bandits work this way)."""
    arms = list(experiment.arms.all())
    keys = {arm.key for arm in arms}
    errors: Errors = {}
    if set(weights) != keys:
        errors.setdefault("weights", []).append(
            f"Give a weight for each arm: {', '.join(sorted(keys))}."
        )
    for key, weight in weights.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or not weight > 0:
            errors.setdefault(f"weights.{key}", []).append("Give a weight greater than 0.")
    raise_errors(errors)
    return experiment_update(
        experiment=experiment,
        data={},
        arms=[
            {
                "key": arm.key,
                "name": arm.name,
                "weight": float(weights[arm.key]),
                "is_control": arm.is_control,
                "content_variant": arm.content_variant,
                "design_variant": arm.design_variant,
            }
            for arm in arms
        ],
        keep_phase=keep_phase,
        user=user,
    )


def experiment_change_coverage(
    *, experiment: Experiment, coverage: float, user: AbstractBaseUser | None = None
) -> Experiment:
    """Change coverage within the phase: raising it moves no one already in."""
    return experiment_update(experiment=experiment, data={"coverage": coverage}, user=user)
