"""Training an optimization's policy, the promotion gate, and the version history.

`optimization_train` reads the decisions delivery logged in the training window with their
goal outcomes (`logged_decisions`), splits them by a hash of the visitor (75 % to train,
25 % held out, a visitor's decisions on one side only), learns the feature vocabularies and
a candidate policy from the training side, and asks the promotion gate whether the
candidate beats the live model on the held-out side. Every candidate is kept as a
`PolicyVersion` (live if promoted, the previous live one retired; rejected otherwise) with
its window, counts, features, compiled tables and the gate's figures.

`optimizations_train_due` is the scheduled task's body: every running optimization with
enough new decisions since its last training (or a day-old model and any new decision),
each trained on its own so one failure does not stop the others.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from django.db import transaction
from django.utils import timezone

from experiments.models import (
    Optimization,
    OptimizationStatus,
    PolicyDecision,
    PolicyVersion,
    PolicyVersionStatus,
)
from experiments.policy.compiled import CompiledPolicy, single_leaf_policy
from experiments.policy.features import FeatureEncoder, fit_encoder_values
from experiments.policy.logs import Logs
from experiments.policy.ope import estimate, promote_targets, target_probabilities
from experiments.policy.reward import fit_reward_model
from experiments.policy.train import TrainConfig, train_policy
from experiments.selectors.optimization import LoggedDecision, goal_spec, logged_decisions
from experiments.services.optimization import optimization_audit
from segments.bucketing import hash_unit
from tenancy.services import site_config_bump

logger = logging.getLogger(__name__)

HELD_OUT_SHARE = 0.25
SPLIT_SALT = ":split"
# Below this many decisions in the window there is nothing worth training on.
MIN_DECISIONS = 100
# Each side of the split needs at least this many decisions.
MIN_SIDE = 20
# A decision younger than this has had little time to convert: training waits for it (at
# most the goal's window), so the newest decisions, mostly the live model's favourite arms,
# are not read as failures.
SETTLE = timedelta(days=1)
# With new decisions but fewer than `retrain_every`, a model is retrained at least this often.
MAX_MODEL_AGE = timedelta(days=1)

TrainStatus = Literal["promoted", "rejected", "skipped"]


@dataclass(frozen=True, slots=True)
class TrainResult:
    optimization_id: int
    status: TrainStatus
    reason: str
    version: PolicyVersion | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "optimization": self.optimization_id,
            "status": self.status,
            "reason": self.reason,
            "version": self.version.number if self.version is not None else None,
        }


def _finite(value: Any) -> Any:
    """A JSON-storable copy: NaN and infinities become None (jsonb has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def training_window(*, optimization: Optimization, now: datetime) -> tuple[datetime, datetime]:
    """[start, end): the last `training_window_days`, up to the settling time ago."""
    settle = min(SETTLE, timedelta(days=goal_spec(optimization=optimization).window_days))
    return now - timedelta(days=optimization.training_window_days), now - settle


def decisions_since_training(*, optimization: Optimization) -> int:
    rows = PolicyDecision.objects.filter(optimization=optimization)
    if optimization.last_trained_at is not None:
        rows = rows.filter(decided_at__gt=optimization.last_trained_at)
    return rows.count()


def optimization_is_due(*, optimization: Optimization, now: datetime) -> bool:
    """`retrain_every` decisions since the last training, or a model older than a day (or
    none, a day after the start) and new decisions enough to train on."""
    new = decisions_since_training(optimization=optimization)
    if new >= optimization.retrain_every:
        return True
    if optimization.last_trained_at is None:
        started = optimization.started_at or now
        return now - started >= MAX_MODEL_AGE and new >= MIN_DECISIONS
    return now - optimization.last_trained_at >= MAX_MODEL_AGE and new > 0


def optimizations_due(*, now: datetime | None = None) -> list[Optimization]:
    """The running optimizations to train now (see `optimization_is_due`)."""
    now = now or timezone.now()
    running = Optimization.objects.filter(status=OptimizationStatus.RUNNING).select_related(
        "goal", "live_version"
    )
    return [o for o in running.order_by("pk") if optimization_is_due(optimization=o, now=now)]


def _live_policy(optimization: Optimization, arms: Sequence[str], encoder: FeatureEncoder):
    """The serving policy: the live version's tables, or the uniform start (version 0)."""
    live = optimization.live_version
    if live is not None:
        return live, CompiledPolicy.from_json(live.policy)
    return None, single_leaf_policy(
        arms=arms, encoder=encoder, seed=optimization.seed or optimization.key, version="0"
    )


def _logs(
    decisions: Sequence[LoggedDecision], arms: Sequence[str], encoder: FeatureEncoder
) -> Logs:
    return Logs.from_records(
        arms=arms,
        rows=[encoder.encode_values(d.features) for d in decisions],
        actions=[d.arm_key for d in decisions],
        propensities=[d.propensity for d in decisions],
        rewards=[d.reward for d in decisions],
        units=[d.unit_id for d in decisions],
    )


def _snips(target: np.ndarray, logs: Logs) -> dict[str, Any] | None:
    try:
        return estimate(target, logs, estimator="snips").as_dict()
    except ValueError:  # the target gives no weight to any held-out decision
        return None


def _skip(optimization: Optimization, reason: str) -> TrainResult:
    logger.info("Optimization %s not trained: %s", optimization.pk, reason)
    return TrainResult(optimization_id=optimization.pk, status="skipped", reason=reason)


def optimization_train(
    *, optimization: Optimization, now: datetime | None = None, force: bool = False
) -> TrainResult:
    """Train a candidate, gate it against the live model and keep it as a new version.

    Without `force` only a running optimization that is due is trained (`optimization_is_due`);
    with it (the admin's "Train now") a running or paused one is trained whenever there is
    enough data. Too little data is a `skipped` result and nothing is stored."""
    now = now or timezone.now()
    if optimization.status not in (OptimizationStatus.RUNNING, OptimizationStatus.PAUSED):
        return _skip(optimization, f"the optimization is {optimization.status}")
    if not force and (
        optimization.status != OptimizationStatus.RUNNING
        or not optimization_is_due(optimization=optimization, now=now)
    ):
        return _skip(optimization, "not due")
    start, end = training_window(optimization=optimization, now=now)
    in_window = PolicyDecision.objects.filter(
        optimization=optimization, decided_at__gte=start, decided_at__lt=end
    ).count()
    if in_window < MIN_DECISIONS:
        return _skip(
            optimization,
            f"{in_window} settled decision(s) in the training window; {MIN_DECISIONS} needed",
        )
    arms = tuple(optimization.arms.order_by("key").values_list("key", flat=True))
    decisions = [
        d
        for d in logged_decisions(optimization=optimization, start=start, end=end, now=now)
        if d.arm_key in arms and 0 < d.propensity <= 1
    ]
    salt = (optimization.seed or optimization.key) + SPLIT_SALT
    held_mask = [hash_unit(salt, d.unit_id) < HELD_OUT_SHARE for d in decisions]
    train_side = [d for d, held in zip(decisions, held_mask, strict=True) if not held]
    held_side = [d for d, held in zip(decisions, held_mask, strict=True) if held]
    if len(train_side) < MIN_SIDE or len(held_side) < MIN_SIDE:
        return _skip(
            optimization,
            f"{len(train_side)} training and {len(held_side)} held-out decisions; "
            f"{MIN_SIDE} each needed",
        )

    # The candidate's vocabularies come from its training side only.
    encoder = fit_encoder_values(optimization.features, (d.features for d in train_side))
    train_logs = _logs(train_side, arms, encoder)
    number = (max(optimization.versions.values_list("number", flat=True), default=0)) + 1
    config = TrainConfig(
        max_depth=optimization.max_depth,
        min_leaf=optimization.min_leaf,
        floor=min(optimization.floor, 1 / len(arms)),
    )
    candidate = train_policy(
        logs=train_logs,
        encoder=encoder,
        seed=optimization.seed or optimization.key,
        version=str(number),
        config=config,
        rng_seed=number,
        metadata={
            "optimization": optimization.key,
            "window": [start.isoformat(), end.isoformat()],
        },
    )

    # The gate: each policy reads the held-out decisions through its own encoder.
    live_row, live = _live_policy(optimization, arms, encoder)
    held_candidate = _logs(held_side, arms, encoder)
    held_live = _logs(held_side, arms, live.encoder)
    candidate_target = target_probabilities(candidate, held_candidate)
    live_target = target_probabilities(live, held_live)
    # The reward model is fitted on the training side (never on the decisions it scores).
    predictions = fit_reward_model(train_logs).predict(held_candidate.rows)
    rule = optimization.promotion_rule
    gate = promote_targets(
        candidate_target,
        live_target,
        held_candidate,
        reward_predictions=predictions,
        rule=rule,
        margin=optimization.promotion_margin if rule == "not_worse" else 0.0,
    )
    quality = _finite(
        {
            **gate.as_dict(),
            "rule": rule,
            "margin": optimization.promotion_margin,
            "held_out": len(held_side),
            "live_version": live_row.number if live_row is not None else 0,
            "snips": {
                "candidate": _snips(candidate_target, held_candidate),
                "live": _snips(live_target, held_live),
            },
        }
    )
    return _store(
        optimization,
        candidate=candidate,
        number=number,
        compared_with=live_row.pk if live_row is not None else None,
        promote=gate.promote,
        reason=gate.reason,
        quality=quality,
        now=now,
        window=(decisions[0].decided_at, decisions[-1].decided_at),
        counts=(len(train_side), int(train_logs.rewards.sum()), len(held_side)),
    )


def _store(
    optimization: Optimization,
    *,
    candidate: CompiledPolicy,
    number: int,
    compared_with: int | None,
    promote: bool,
    reason: str,
    quality: dict[str, Any],
    now: datetime,
    window: tuple[datetime, datetime],
    counts: tuple[int, int, int],
) -> TrainResult:
    with transaction.atomic():
        Optimization.objects.select_for_update().filter(pk=optimization.pk).exists()
        optimization.refresh_from_db()
        latest = max(optimization.versions.values_list("number", flat=True), default=0)
        if latest >= number:  # another training stored a version meanwhile
            number = latest + 1
            candidate = dataclasses.replace(candidate, version=str(number))
        if promote and optimization.live_version_id != compared_with:
            promote = False
            reason = "the live model changed while this one trained; " + reason
            quality = {**quality, "promote": False, "reason": reason}
        status = PolicyVersionStatus.LIVE if promote else PolicyVersionStatus.REJECTED
        version = PolicyVersion.objects.create(
            optimization=optimization,
            number=number,
            status=status,
            trained_at=now,
            window_start=window[0],
            window_end=window[1],
            decisions=counts[0],
            rewarded=counts[1],
            held_out=counts[2],
            features=optimization.features,
            policy=_finite(candidate.to_json()),
            quality=quality,
            promoted_at=now if promote else None,
        )
        optimization.last_trained_at = now
        fields = ["last_trained_at", "updated_at"]
        if promote:
            PolicyVersion.objects.filter(
                optimization=optimization, status=PolicyVersionStatus.LIVE
            ).exclude(pk=version.pk).update(status=PolicyVersionStatus.RETIRED, retired_at=now)
            optimization.live_version = version
            fields.append("live_version")
        optimization.save(update_fields=fields)
        if promote:
            optimization_audit(
                optimization, change="promote", user=None, details={"version": number}
            )
            site_config_bump(site_id=optimization.site_id)
    logger.info("Optimization %s: version %s %s (%s)", optimization.pk, number, status, reason)
    return TrainResult(
        optimization_id=optimization.pk,
        status="promoted" if promote else "rejected",
        reason=reason,
        version=version,
    )


def optimizations_train_due(*, now: datetime | None = None) -> list[TrainResult]:
    """Train every due optimization, each on its own: a failure is logged and the others go
    on (the next run tries the failed one again)."""
    now = now or timezone.now()
    results: list[TrainResult] = []
    for optimization in optimizations_due(now=now):
        try:
            results.append(optimization_train(optimization=optimization, now=now))
        except Exception:  # one broken optimization must not stop the others
            logger.exception("Training optimization %s failed", optimization.pk)
    return results
