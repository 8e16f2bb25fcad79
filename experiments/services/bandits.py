"""Bandit batches: every tick (Celery beat, or the embedded scheduler under `make run`) each
running bandit experiment gets the next weights of its current phase from top-two Thompson
sampling (`experiments.bandit.next_weights`) on the phase's per-arm primary-metric
statistics, read from its rollups.

The weights change *within* the phase (`keep_phase`): units already assigned keep their arm
(delivery honours stored and echoed assignments), new units are bucketed with the new
weights, and each assignment logs the probability it was drawn with. Each update is
recorded as a BanditBatch (the weights and from when), which the results read as the
strata of the inverse-propensity-weighted effects. Changing the weights bumps the site's
configuration version (through the experiments service), so delivery's snapshots pick
them up at once.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from analytics.models import MetricKind
from experiments.bandit import BanditUpdate, next_weights
from experiments.models import (
    BanditBatch,
    Experiment,
    ExperimentMetricDay,
    ExperimentMode,
    ExperimentPhase,
    ExperimentStatus,
    MetricRole,
)
from experiments.services.experiments import experiment_change_weights
from experiments.services.rollups import experiment_rollups_refresh
from experiments.stats import SampleStats

logger = logging.getLogger(__name__)

# A weight of 0 is refused by the arms' constraint; with a floor of 0 an arm keeps this.
SMALLEST_WEIGHT = 1e-9
# Weights closer than this to the current ones are not worth a new batch.
MIN_CHANGE = 1e-3


@dataclass(frozen=True)
class BatchResult:
    experiment_id: int
    batch: int | None  # the new batch's number; None when the weights stayed
    weights: dict[str, float]
    kept_previous: bool


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def phase_window_stats(
    *, experiment: Experiment, phase: int, metric_id: int, arm_keys: list[str]
) -> dict[str, SampleStats]:
    """Each arm's sufficient statistics of one metric over the phase so far (all batches)."""
    rows = (
        ExperimentMetricDay.objects.filter(
            cohort__experiment=experiment, cohort__phase=phase, metric_id=metric_id
        )
        .values("arm_key")
        .annotate(n=Sum("n"), total=Sum("total"), total_sq=Sum("total_sq"))
        .order_by()
    )
    out = {key: SampleStats(n=0, sum=0.0, sum_sq=0.0) for key in arm_keys}
    for r in rows:
        if r["arm_key"] in out:
            out[r["arm_key"]] = SampleStats(
                n=int(r["n"] or 0), sum=r["total"] or 0.0, sum_sq=r["total_sq"] or 0.0
            )
    return out


def _seed(experiment: Experiment, batch: int) -> int:
    """Deterministic per experiment and batch: a re-run of the same tick draws the same."""
    return zlib.crc32(f"{experiment.seed}:{experiment.phase}".encode()) * 1000 + batch


def bandit_batch_run(
    *, experiment: Experiment, now: datetime | None = None, refresh: bool = True
) -> BatchResult | None:
    """One batch update of a running bandit experiment; None when there is nothing to do
    (not a running bandit, no primary metric, or a ratio primary metric)."""
    now = now or timezone.now()
    if experiment.mode != ExperimentMode.BANDIT or experiment.status != ExperimentStatus.RUNNING:
        return None
    primary = experiment.metrics.filter(role=MetricRole.PRIMARY).select_related("metric").first()
    if primary is None or primary.metric.kind == MetricKind.RATIO:
        logger.info("bandit %s: no usable primary metric, weights unchanged", experiment.key)
        return None
    if refresh:
        experiment_rollups_refresh(experiment=experiment, now=now)
    phase = ExperimentPhase.objects.filter(experiment=experiment, number=experiment.phase).first()
    if phase is None:
        return None
    arms = list(experiment.arms.all())
    keys = [a.key for a in arms]
    previous = _normalised(
        {k: float(phase.weights.get(k) or 0.0) for k in keys}
        if phase.weights and set(phase.weights) == set(keys)
        else {a.key: a.weight for a in arms}
    )
    window = phase_window_stats(
        experiment=experiment, phase=phase.number, metric_id=primary.metric_id, arm_keys=keys
    )
    last = BanditBatch.objects.filter(experiment=experiment, phase=phase.number).aggregate(
        n=Max("number")
    )["n"]
    number = 0 if last is None else last + 1
    update: BanditUpdate = next_weights(
        previous,
        window,
        metric="proportion" if primary.metric.kind == MetricKind.CONVERSION else "continuous",
        seed=_seed(experiment, number),
        floor=experiment.bandit_floor,
    )
    changed = max(abs(update.weights[k] - previous[k]) for k in keys) >= MIN_CHANGE
    if update.kept_previous or not changed:
        return BatchResult(experiment.pk, None, previous, update.kept_previous)
    with transaction.atomic():
        if last is None:
            # Batch 0: the weights the phase opened with, so every unit has a batch.
            BanditBatch.objects.create(
                experiment=experiment,
                phase=phase.number,
                number=0,
                started_at=phase.started_at,
                weights=previous,
            )
            number = 1
        BanditBatch.objects.create(
            experiment=experiment,
            phase=phase.number,
            number=number,
            started_at=now,
            weights=update.weights,
            probability_best=update.probability_best,
        )
        experiment_change_weights(
            experiment=experiment,
            weights={k: max(w, SMALLEST_WEIGHT) for k, w in update.weights.items()},
            keep_phase=True,
        )
    return BatchResult(experiment.pk, number, update.weights, False)


def bandit_batches_run(*, now: datetime | None = None) -> list[BatchResult]:
    """A batch update of every running bandit experiment."""
    out = []
    running = Experiment.objects.filter(
        mode=ExperimentMode.BANDIT, status=ExperimentStatus.RUNNING
    ).order_by("pk")
    for experiment in running:
        try:
            result = bandit_batch_run(experiment=experiment, now=now)
        except Exception:  # one broken experiment must not stop the others' batches
            logger.exception("bandit batch of experiment %s failed", experiment.pk)
            continue
        if result is not None:
            out.append(result)
    return out
