"""Writes of optimizations: setup (create, update, delete) and lifecycle (start, pause,
resume, stop). Training and model versions are `optimization_train`.

Once an optimization has started, what its logged decisions mean is fixed: the slot, the
goal, the eligible arms, the features and the hash seed. Changing any of them is refused
(stop it and create a new optimization): the decisions already logged, their propensities
and the model versions would otherwise describe a different problem. The knobs of training
(window, retrain interval, depth, leaf size, promotion rule and margin), the exploration
floor and the holdout share may change at any time; they apply from the next training
(floor) or at once (holdout share, served from the next snapshot).

Every change writes an entry in the content audit log of the optimized slot (action
`experiment`, `details.optimization`) and bumps the site's configuration version, so
delivery rebuilds its snapshot, exactly as experiments' changes do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from content.models import ContentVariant, ScreenVariant
from experiments.models import Optimization, OptimizationArm, OptimizationStatus
from experiments.services.optimization_validation import (
    optimization_setup_errors,
    optimization_slot_errors,
)
from experiments.services.slots import lock_row, slot_audit
from experiments.services.validation import Errors, merge, raise_errors
from tenancy.models import Site
from tenancy.services import site_config_bump

# What a setup may change; the rest (status, dates, live version) only the services change.
OPTIMIZATION_FIELDS = (
    "key",
    "name",
    "description",
    "placement",
    "screen",
    "goal",
    "features",
    "holdout_share",
    "floor",
    "seed",
    "training_window_days",
    "retrain_every",
    "max_depth",
    "min_leaf",
    "promotion_rule",
    "promotion_margin",
)
# Fixed once started: they define what the logged decisions and model versions mean.
LOCKED_WHEN_STARTED = ("key", "placement", "screen", "goal", "features", "seed")

Change = Literal["create", "update", "start", "pause", "resume", "stop", "delete", "promote"]


class OptimizationArmSpec(TypedDict, total=False):
    key: str
    content_variant: ContentVariant | None
    design_variant: ScreenVariant | None


def optimization_audit(
    optimization: Optimization,
    *,
    change: Change,
    user: AbstractBaseUser | None,
    details: dict[str, Any] | None = None,
) -> None:
    """An entry in the slot's audit log (what visitors of the slot get changed)."""
    slot_audit(optimization, kind="optimization", change=change, user=user, details=details)


_lock = lock_row


def _apply(optimization: Optimization, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(OPTIMIZATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown optimization fields {sorted(unknown)}")
    for name, value in data.items():
        setattr(optimization, name, value)


def _arm_instances(
    optimization: Optimization, arms: Sequence[OptimizationArmSpec]
) -> list[OptimizationArm]:
    return [
        OptimizationArm(
            optimization=optimization,
            key=spec.get("key", ""),
            content_variant=spec.get("content_variant"),
            design_variant=spec.get("design_variant"),
        )
        for spec in arms
    ]


def _same_arms(current: Sequence[OptimizationArm], new: Sequence[OptimizationArm]) -> bool:
    def shape(arms: Sequence[OptimizationArm]) -> list[tuple[str, Any, Any]]:
        return sorted((a.key, a.content_variant_id, a.design_variant_id) for a in arms)

    return shape(current) == shape(new)


def optimization_setup_saved(
    *, optimization: Optimization, created: bool, user: AbstractBaseUser | None = None
) -> None:
    """After an optimization and its arms were saved (by a service or the admin): audit and
    bump the site's configuration."""
    optimization_audit(optimization, change="create" if created else "update", user=user)
    site_config_bump(site_id=optimization.site_id)


def optimization_create(
    *,
    site: Site,
    key: str,
    name: str,
    arms: Sequence[OptimizationArmSpec],
    user: AbstractBaseUser | None = None,
    **fields: Any,
) -> Optimization:
    """A draft optimization with its eligible arms; `fields` are among OPTIMIZATION_FIELDS."""
    optimization = Optimization(site=site, key=key, name=name)
    _apply(optimization, fields)
    if not optimization.seed:
        optimization.seed = key
    arm_rows = _arm_instances(optimization, arms)
    errors = optimization_setup_errors(optimization=optimization, arms=arm_rows)
    if Optimization.objects.filter(site=site, key=key).exists():
        errors.setdefault("key", []).append("An optimization with this key exists on the site.")
    raise_errors(errors)
    with transaction.atomic():
        optimization.save()
        OptimizationArm.objects.bulk_create(arm_rows)
        optimization_setup_saved(optimization=optimization, created=True, user=user)
    return optimization


def optimization_update(
    *,
    optimization: Optimization,
    data: Mapping[str, Any],
    arms: Sequence[OptimizationArmSpec] | None = None,
    user: AbstractBaseUser | None = None,
) -> Optimization:
    """Change the setup; `arms`, when given, replaces the list. Once started, the fields of
    LOCKED_WHEN_STARTED and the arms are fixed; a stopped optimization does not change."""
    with transaction.atomic():
        optimization = _lock(optimization)
        if optimization.status == OptimizationStatus.STOPPED:
            raise ValidationError("A stopped optimization cannot change; create a new one.")
        started = optimization.status != OptimizationStatus.DRAFT
        errors: Errors = {}
        if started:
            for name in LOCKED_WHEN_STARTED:
                if name in data and data[name] != getattr(optimization, name):
                    errors.setdefault(name, []).append(
                        "Fixed once the optimization has started: stop it and create a new one."
                    )
        _apply(optimization, data)
        current = list(optimization.arms.select_related("content_variant", "design_variant"))
        arm_rows = current if arms is None else _arm_instances(optimization, arms)
        if started and arms is not None and not _same_arms(current, arm_rows):
            errors.setdefault("arms", []).append(
                "The eligible variants are fixed once the optimization has started: stop it "
                "and create a new one."
            )
        merge(errors, optimization_setup_errors(optimization=optimization, arms=arm_rows))
        if (
            "key" in data
            and Optimization.objects.filter(site_id=optimization.site_id, key=optimization.key)
            .exclude(pk=optimization.pk)
            .exists()
        ):
            errors.setdefault("key", []).append("An optimization with this key exists on the site.")
        raise_errors(errors)
        optimization.save()
        if arms is not None and not started:
            optimization.arms.all().delete()
            OptimizationArm.objects.bulk_create(arm_rows)
        optimization_setup_saved(optimization=optimization, created=False, user=user)
    return optimization


def optimization_delete(
    *, optimization: Optimization, user: AbstractBaseUser | None = None
) -> None:
    """Delete an optimization with its versions and logged decisions; not while it runs."""
    with transaction.atomic():
        optimization = _lock(optimization)
        if optimization.status == OptimizationStatus.RUNNING:
            raise ValidationError("Stop the optimization before deleting it.")
        optimization_audit(optimization, change="delete", user=user)
        site_id = optimization.site_id
        # live_version points into the versions deleted with it.
        Optimization.objects.filter(pk=optimization.pk).update(live_version=None)
        optimization.delete()
        site_config_bump(site_id=site_id)


# --- lifecycle -------------------------------------------------------------------------------


def _status_error(rule: str, optimization: Optimization) -> ValidationError:
    return ValidationError({"status": f"{rule}; this one is {optimization.status}."})


def _set_status(
    optimization: Optimization, status: str, *, change: Change, user: Any, **fields: Any
) -> None:
    optimization.status = status
    for name, value in fields.items():
        setattr(optimization, name, value)
    optimization.save(update_fields=["status", *fields, "updated_at"])
    optimization_audit(optimization, change=change, user=user)
    site_config_bump(site_id=optimization.site_id)


def optimization_start(
    *, optimization: Optimization, user: AbstractBaseUser | None = None
) -> Optimization:
    """Draft → running: delivery serves the live model (the uniform policy until one is
    promoted) and logs every decision."""
    with transaction.atomic():
        optimization = _lock(optimization)
        if optimization.status != OptimizationStatus.DRAFT:
            raise _status_error("Only a draft can start", optimization)
        optimization.status = OptimizationStatus.RUNNING
        raise_errors(
            optimization_setup_errors(
                optimization=optimization,
                arms=list(optimization.arms.select_related("content_variant", "design_variant")),
            )
        )
        _set_status(
            optimization,
            OptimizationStatus.RUNNING,
            change="start",
            user=user,
            started_at=timezone.now(),
        )
    return optimization


def optimization_pause(
    *, optimization: Optimization, user: AbstractBaseUser | None = None
) -> Optimization:
    """Running → paused: visitors get normal personalization; versions and logs stay."""
    with transaction.atomic():
        optimization = _lock(optimization)
        if optimization.status != OptimizationStatus.RUNNING:
            raise _status_error("Only a running optimization can pause", optimization)
        _set_status(optimization, OptimizationStatus.PAUSED, change="pause", user=user)
    return optimization


def optimization_resume(
    *, optimization: Optimization, user: AbstractBaseUser | None = None
) -> Optimization:
    """Paused → running, with the same live model (unless an experiment took the slot)."""
    with transaction.atomic():
        optimization = _lock(optimization)
        if optimization.status != OptimizationStatus.PAUSED:
            raise _status_error("Only a paused optimization can resume", optimization)
        optimization.status = OptimizationStatus.RUNNING
        raise_errors(optimization_slot_errors(optimization=optimization))
        _set_status(optimization, OptimizationStatus.RUNNING, change="resume", user=user)
    return optimization


def optimization_stop(
    *, optimization: Optimization, user: AbstractBaseUser | None = None
) -> Optimization:
    """Running or paused → stopped, for good: the slot returns to normal personalization."""
    with transaction.atomic():
        optimization = _lock(optimization)
        if optimization.status not in (OptimizationStatus.RUNNING, OptimizationStatus.PAUSED):
            raise _status_error("Only a running or paused optimization can stop", optimization)
        _set_status(
            optimization,
            OptimizationStatus.STOPPED,
            change="stop",
            user=user,
            stopped_at=timezone.now(),
        )
    return optimization
