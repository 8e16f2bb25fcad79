"""Analytics' periodic jobs (CELERY_BEAT_SCHEDULE): folding new events into the rollups,
and purging what is older than each site's retention."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="analytics.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Every site's rollups, up to the events received half a minute ago."""
    from analytics.services.rollups import rollups_refresh_all

    return sum(r.days for r in rollups_refresh_all())


@shared_task(name="analytics.purge_expired", ignore_result=True)
def purge_expired() -> int:
    """Delete events and visitor data older than each site's retention period."""
    from analytics.services.retention import retention_purge_all

    return sum(p.events + p.profiles for p in retention_purge_all())


@shared_task(name="analytics.train_predictive_models", ignore_result=True)
def train_predictive_models() -> int:
    """Train every enabled-or-draft predictive model of every site; refresh enabled ones'
    scores on the profiles. Returns how many models got a new version."""
    from analytics.predictive.services import predictive_train_all

    return sum(r.version is not None for r in predictive_train_all())


@shared_task(name="analytics.train_predictive_model", ignore_result=True)
def train_predictive_model(model_id: int) -> str:
    """One model now (the admin's "Train now"); its scores too when it is enabled."""
    from analytics.models import PredictiveModel
    from analytics.predictive.services import predictive_model_train, predictive_scores_write

    model = (
        PredictiveModel.objects.select_related("goal_metric", "site").filter(pk=model_id).first()
    )
    if model is None:
        return "gone"
    result = predictive_model_train(model=model)
    if model.enabled:
        predictive_scores_write(model=model)
    return result.status


@shared_task(name="analytics.score_predictive_model", ignore_result=True)
def score_predictive_model(model_id: int) -> int:
    """Write an enabled model's scores to its site's profiles (after it is enabled)."""
    from analytics.models import PredictiveModel
    from analytics.predictive.services import predictive_scores_write

    model = (
        PredictiveModel.objects.select_related("goal_metric", "site").filter(pk=model_id).first()
    )
    return predictive_scores_write(model=model) if model is not None else 0


@shared_task(name="analytics.suggest_segments", ignore_result=True)
def suggest_segments(run_id: int) -> None:
    """Compute a segment suggestion run (analytics.suggestions; scans the site's profiles)."""
    from analytics.suggestions.services import suggestion_run_execute

    suggestion_run_execute(run_id=run_id)
