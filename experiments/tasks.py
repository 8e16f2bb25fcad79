"""Experiments' periodic jobs (CELERY_BEAT_SCHEDULE, and the embedded scheduler under
`make run`): folding new assignments and events into the experiment rollups, and the
bandits' batch updates. Both are idempotent."""

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
