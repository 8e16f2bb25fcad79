"""Whether an optimization's setup is consistent, as `{field path: [messages]}`: the admin
shows them as form errors and the API as 400s with the same paths (`arms[1].content_variant`,
`features[2].top_k`).

The model's `clean` checks one row (exactly one slot, slot and goal of the site); these
checks involve the goal's definition, the eligible arms against the slot, the feature spec
against the site's segments, the floor against the number of arms, and the other
experiments and optimizations running on the same slot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db.models import Q

from analytics.metrics import MetricError
from analytics.models import MetricKind
from analytics.selectors.metrics import metric_definition_errors
from experiments.models import (
    Experiment,
    ExperimentStatus,
    Optimization,
    OptimizationArm,
    OptimizationStatus,
)
from experiments.policy.features import FeatureSpecError, parse_feature_spec
from experiments.services.validation import Errors, merge
from segments.models import Segment

# Goals whose per-visitor value is a number with a sign: the reward is 1 when it is positive.
GOAL_KINDS = (MetricKind.CONVERSION, MetricKind.COUNT, MetricKind.SUM)
# Fields numbers are checked on beyond the model's validators (NaN passes Min/MaxValue).
FLOAT_FIELDS = ("holdout_share", "floor", "promotion_margin")
# Upper bounds the model leaves open: beyond them a value is a typo, not a setting.
INT_LIMITS = {
    "training_window_days": 365,
    "retrain_every": 10_000_000,
    "max_depth": 8,
    "min_leaf": 1_000_000,
}
LIVE_OPTIMIZATION = (OptimizationStatus.RUNNING, OptimizationStatus.PAUSED)


def _add(errors: Errors, path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def optimization_fields_errors(*, optimization: Optimization) -> Errors:
    """The model's own checks, plus finite numbers within bounds, keyed by field name."""
    errors: Errors = {}
    for name in FLOAT_FIELDS:
        value = getattr(optimization, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            _add(errors, name, "Give a number.")
        elif not math.isfinite(value):
            _add(errors, name, "Give a finite number.")
    for name, limit in INT_LIMITS.items():
        value = getattr(optimization, name)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            _add(errors, name, f"Give at most {limit}.")
    if errors:  # full_clean would compare NaN or fail on a non-number
        return errors
    try:
        optimization.full_clean(
            exclude=["site", "features"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        return {k: list(v) for k, v in exc.message_dict.items()}
    return {}


def goal_errors(*, optimization: Optimization) -> Errors:
    """A valid conversion, count or sum metric of the optimization's site."""
    errors: Errors = {}
    if not optimization.goal_id:
        return errors  # the model says the goal is required
    goal = optimization.goal
    if goal.site_id != optimization.site_id:
        _add(errors, "goal", "Choose a metric of the same site.")
    elif goal.kind not in GOAL_KINDS:
        _add(
            errors,
            "goal",
            "Choose a conversion, count or sum metric: a ratio has no per-visitor reward.",
        )
    else:
        try:
            problems = metric_definition_errors(metric=goal)
        except MetricError as exc:
            problems = exc.errors
        if problems:
            _add(errors, "goal", f"The metric '{goal.key}' is not valid: {problems}.")
    return errors


def features_errors(*, optimization: Optimization) -> Errors:
    """A valid feature spec (errors at their JSON path) whose segments exist on the site."""
    errors: Errors = {}
    try:
        features = parse_feature_spec(optimization.features)
    except FeatureSpecError as exc:
        _add(errors, exc.path, exc.message)
        return errors
    wanted = {i: f.segment for i, f in enumerate(features) if f.kind == "segment"}
    if wanted:
        known = set(
            Segment.objects.filter(
                site_id=optimization.site_id, key__in=set(wanted.values())
            ).values_list("key", flat=True)
        )
        for index, key in wanted.items():
            if key not in known:
                _add(errors, f"features[{index}].segment", f"No segment '{key}' on this site.")
    return errors


def optimization_arms_errors(
    *, optimization: Optimization, arms: Sequence[OptimizationArm]
) -> Errors:
    """At least two arms with unique keys, each serving a distinct variant of the optimized
    slot (hence of its site); the floor must leave room for the arms (`floor * arms <= 1`)."""
    errors: Errors = {}
    if len(arms) < 2:
        _add(errors, "arms", "An optimization needs at least two eligible variants.")
    seen_keys: set[str] = set()
    seen_variants: set[tuple[str, int]] = set()
    for index, arm in enumerate(arms):
        path = f"arms[{index}]"
        if not arm.key:
            _add(errors, f"{path}.key", "Give the arm a key.")
        elif arm.key in seen_keys:
            _add(errors, f"{path}.key", f"The key '{arm.key}' is used by another arm.")
        seen_keys.add(arm.key)
        if optimization.placement_id:
            if arm.design_variant_id:
                _add(
                    errors, f"{path}.design_variant", "A placement's arm serves a content variant."
                )
            if not arm.content_variant_id:
                _add(errors, f"{path}.content_variant", "Choose a variant of the placement.")
                continue
            if arm.content_variant.placement_id != optimization.placement_id:
                _add(
                    errors,
                    f"{path}.content_variant",
                    "Choose a variant of the optimization's placement.",
                )
                continue
            variant = ("content", arm.content_variant_id)
            field = "content_variant"
        elif optimization.screen_id:
            if arm.content_variant_id:
                _add(errors, f"{path}.content_variant", "A screen's arm serves a screen design.")
            if not arm.design_variant_id:
                _add(errors, f"{path}.design_variant", "Choose a design of the screen.")
                continue
            if arm.design_variant.screen_id != optimization.screen_id:
                _add(
                    errors,
                    f"{path}.design_variant",
                    "Choose a design of the optimization's screen.",
                )
                continue
            variant = ("design", arm.design_variant_id)
            field = "design_variant"
        else:
            continue
        if variant in seen_variants:
            _add(errors, f"{path}.{field}", "This variant is already an arm.")
        seen_variants.add(variant)
    floor = optimization.floor
    if (
        len(arms) >= 2
        and isinstance(floor, int | float)
        and math.isfinite(floor)
        and floor * len(arms) > 1 + 1e-12
    ):
        _add(
            errors,
            "floor",
            f"With {len(arms)} arms the floor can be at most {1 / len(arms):.4f} "
            "(every arm keeps the floor, and the probabilities sum to 1).",
        )
    return errors


def promotion_errors(*, optimization: Optimization) -> Errors:
    errors: Errors = {}
    margin = optimization.promotion_margin
    if (
        optimization.promotion_rule == "not_worse"
        and isinstance(margin, int | float)
        and not margin > 0
    ):
        _add(errors, "promotion_margin", "The not-worse rule needs a margin above 0.")
    return errors


def _slot_q(obj: Optimization | Experiment) -> Q:
    return Q(placement_id=obj.placement_id) if obj.placement_id else Q(screen_id=obj.screen_id)


def optimization_slot_errors(*, optimization: Optimization) -> Errors:
    """While it runs, nothing else decides the slot: no running experiment on it, and no other
    running or paused optimization."""
    errors: Errors = {}
    if optimization.status != OptimizationStatus.RUNNING:
        return errors
    if not (optimization.placement_id or optimization.screen_id):
        return errors
    field = "placement" if optimization.placement_id else "screen"
    slot = _slot_q(optimization)
    for key in Experiment.objects.filter(
        slot, site_id=optimization.site_id, status=ExperimentStatus.RUNNING
    ).values_list("key", flat=True):
        _add(
            errors,
            field,
            f"Experiment '{key}' is running on this {optimization.slot_kind}; stop or pause it "
            "first.",
        )
    others = Optimization.objects.filter(
        slot, site_id=optimization.site_id, status__in=LIVE_OPTIMIZATION
    )
    if optimization.pk:
        others = others.exclude(pk=optimization.pk)
    for key in others.values_list("key", flat=True):
        _add(
            errors,
            field,
            f"Optimization '{key}' is already running or paused on this "
            f"{optimization.slot_kind}; stop it first.",
        )
    return errors


def optimization_setup_errors(
    *, optimization: Optimization, arms: Sequence[OptimizationArm]
) -> Errors:
    """Every check of an optimization about to be saved with these arms."""
    errors = optimization_fields_errors(optimization=optimization)
    if "goal" not in errors:  # the model's clean already named another site's goal
        merge(errors, goal_errors(optimization=optimization))
    merge(errors, features_errors(optimization=optimization))
    merge(errors, promotion_errors(optimization=optimization))
    if not ({"placement", "screen"} & errors.keys()):
        merge(errors, optimization_arms_errors(optimization=optimization, arms=arms))
        merge(errors, optimization_slot_errors(optimization=optimization))
    return errors
