"""Experiments' periodic jobs (CELERY_BEAT_SCHEDULE, and the embedded scheduler under
`make run`): folding new assignments and events into the experiment rollups, the
bandits' batch updates, and training the optimizations' policies. All are safe to run
again: a training right after another finds nothing due."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="experiments.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Every live (or recently stopped) experiment's cohorts, up to half a minute ago."""
    from experiments.services.rollups import experiment_rollups_refresh_all

    return sum(r.cohorts for r in experiment_rollups_refresh_all())


@shared_task(name="experiments.bandit_batches", ignore_result=True)
def bandit_batches() -> int:
    """The next weights of every running bandit experiment; the number of new batches."""
    from experiments.services.bandits import bandit_batches_run

    return sum(1 for r in bandit_batches_run() if r.batch is not None)


@shared_task(name="experiments.train_optimizations", ignore_result=True)
def train_optimizations() -> int:
    """Train every due optimization (enough new decisions, or a day-old model); each is
    gated and kept as a new version. The number of optimizations trained."""
    from experiments.services.optimization_train import optimizations_train_due

    return sum(1 for r in optimizations_train_due() if r.status != "skipped")


@shared_task(name="experiments.train_optimization", ignore_result=True)
def train_optimization(optimization_id: int, force: bool = False) -> dict:
    """One optimization ("Train now" in the admin and the API): the training's outcome."""
    from experiments.models import Optimization
    from experiments.services.optimization_train import optimization_train

    optimization = Optimization.objects.filter(pk=optimization_id).first()
    if optimization is None:  # deleted since the task was queued
        return {"optimization": optimization_id, "status": "skipped", "reason": "deleted"}
    return optimization_train(optimization=optimization, force=force).as_dict()


@shared_task(name="experiments.purge_expired", ignore_result=True)
def purge_expired() -> int:
    """Delete assignments and logged policy decisions older than each site's retention."""
    from experiments.services.retention import experiments_retention_purge_all

    return sum(p.assignments + p.decisions for p in experiments_retention_purge_all())
