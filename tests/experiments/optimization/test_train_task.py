"""The scheduled training: which optimizations are due, the Celery tasks (registered in the
beat schedule the embedded scheduler also runs), and one failing optimization not stopping
the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from experiments import tasks
from experiments.models import Optimization, PolicyVersion
from experiments.services import optimization_train as training
from experiments.services.optimization import optimization_start
from experiments.services.optimization_train import optimizations_due
from personalize.scheduler.embedded import scheduled_tasks
from tests.content.factories import SegmentFactory, placement_with_variants
from tests.experiments.optimization.conftest import TRUTH, log_decisions, make_optimization

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


def own_placement(site, key):
    """A placement of its own (one running optimization per slot), with variants b and c."""
    segment = SegmentFactory(site=site, key=f"seg-{key}")
    return placement_with_variants(
        site, key=f"p-{key}", targeted=[("b", segment, 1), ("c", segment, 2)]
    )


def started(site, placement, metric, key, *, days_ago=3, **fields):
    placement = own_placement(site, key)
    opt = optimization_start(optimization=make_optimization(site, placement, metric, key=key))
    Optimization.objects.filter(pk=opt.pk).update(
        started_at=timezone.now() - timedelta(days=days_ago), **fields
    )
    opt.refresh_from_db()
    return opt


def test_due_by_count_or_by_age(site, placement, metric, now):
    many = started(site, placement, metric, "many")  # retrain_every 500
    log_decisions(many, n=600, start=now - timedelta(days=2), rates=TRUTH)
    few = started(site, placement, metric, "few")
    log_decisions(few, n=150, start=now - timedelta(days=2), rates=TRUTH, prefix="f")
    fresh = started(site, placement, metric, "fresh", days_ago=0)
    log_decisions(fresh, n=150, start=now - timedelta(hours=1), rates=TRUTH, prefix="r")
    trained = started(site, placement, metric, "trained", last_trained_at=now - timedelta(hours=2))
    log_decisions(trained, n=150, start=now - timedelta(days=2), rates=TRUTH, prefix="t")
    old = started(site, placement, metric, "old", last_trained_at=now - timedelta(days=2))
    log_decisions(old, n=10, start=now - timedelta(hours=3), rates=TRUTH, prefix="o")
    idle = started(site, placement, metric, "idle", last_trained_at=now - timedelta(days=2))
    # Other statuses are never due.
    draft = make_optimization(site, placement, metric, key="draft")
    log_decisions(draft, n=600, start=now - timedelta(days=2), rates=TRUTH, prefix="d")
    assert idle is not None
    due = {o.key for o in optimizations_due(now=now)}
    # many: 600 >= 500; few: never trained, started 3 days ago, 150 >= 100 decisions;
    # old: a 2-day-old model and new decisions. Not: fresh (started today), trained (a
    # 2-hour-old model, 150 < 500), idle (no new decision), draft.
    assert due == {"many", "few", "old"}


def test_the_task_trains_the_due_ones_and_survives_a_failure(
    site, placement, metric, now, monkeypatch
):
    good = started(site, placement, metric, "good")
    log_decisions(good, n=2000, start=now - timedelta(days=2), rates=TRUTH)
    bad = started(site, placement, metric, "bad")
    log_decisions(bad, n=2000, start=now - timedelta(days=2), rates=TRUTH, prefix="b")
    idle = started(site, placement, metric, "idle")
    real = training.optimization_train
    trained: list[str] = []

    def flaky(*, optimization, now=None, force=False):
        trained.append(optimization.key)
        if optimization.key == "bad":
            raise RuntimeError("boom")
        return real(optimization=optimization, now=now, force=force)

    monkeypatch.setattr(training, "optimization_train", flaky)
    assert tasks.train_optimizations.delay().get() == 1
    assert sorted(trained) == ["bad", "good"]
    assert PolicyVersion.objects.filter(optimization=good).count() == 1
    assert not PolicyVersion.objects.filter(optimization__in=[bad, idle]).exists()
    # Trained just now, good is no longer due; bad is tried again next time.
    assert {o.key for o in optimizations_due(now=timezone.now())} == {"bad"}


def test_train_now_task_forces_a_training(site, placement, metric, now):
    opt = started(site, placement, metric, "now", days_ago=0)
    log_decisions(opt, n=300, start=now - timedelta(days=2), rates=TRUTH)
    assert optimizations_due(now=now) == []
    out = tasks.train_optimization.delay(opt.pk, True).get()
    assert out["status"] in ("promoted", "rejected") and out["version"] == 1
    assert tasks.train_optimization.delay(opt.pk + 1000, True).get()["status"] == "skipped"


def test_the_training_is_scheduled_for_beat_and_the_embedded_scheduler():
    entry = settings.CELERY_BEAT_SCHEDULE["experiments-train-optimizations"]
    assert entry["task"] == tasks.train_optimizations.name
    names = {t.task for t in scheduled_tasks(settings.CELERY_BEAT_SCHEDULE, now=timezone.now())}
    assert "experiments.train_optimizations" in names
