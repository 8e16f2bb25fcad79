"""The demo's experiment (called by `seed_demo` after the analytics demo, whose metrics it
measures): "offers-free-checking" tests, on the `offers` placement, whether showing everyone
the free-checking offer beats the normal personalized offers. It has been running for two
weeks: each simulated visitor was bucketed as delivery does (GrowthBook-compatible hash of
the experiment's seed), recorded as an Assignment on first exposure, and shown the arm;
the free-checking arm really converts better (8 % against 5 % within the week). A global
holdout of 5 % is configured but left off (turning it on in the admin makes 5 % of the
demo's visitors see only defaults, which the documented examples do not expect). Idempotent: the
experiment and its traffic are made once; seeded, so every run tells the same story.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from analytics.models import Metric
from analytics.services.rollups import rollups_rebuild
from content.models import Placement
from experiments import demo_optimization
from experiments.models import Assignment, Experiment, ExperimentPhase, GlobalHoldout
from experiments.services.experiments import experiment_create, experiment_start
from experiments.services.holdout import holdout_set
from experiments.services.rollups import experiment_rollups_refresh
from segments.bucketing import bucket_ranges, choose_bucket, hash_unit
from segments.models import Event, Segment, SegmentStatus
from segments.services.segments import segment_create
from tenancy.models import Site

KEY = "offers-free-checking"
SLOT = "offers"
SEED = 20261201
DAYS = 14
VISITORS_PER_DAY = 350
PREFIX = "exp-"
# Checkout probability within the week after the first exposure, per arm.
BUY_RATE = {"control": 0.05, "free-checking": 0.08}
AUDIENCE = "campaign-visitors"
# What the control arm's visitors saw: normal personalization picks among these.
CONTROL_VARIANTS = ("default", "retirement-advice")


def _campaign_audience(site: Site) -> Segment:
    segment = Segment.objects.filter(site=site, key=AUDIENCE).first()
    return segment or segment_create(
        site=site,
        key=AUDIENCE,
        name="Campaign visitors",
        criteria={"all": [{"field": "context.utm_source", "op": "is_set"}]},
        status=SegmentStatus.ACTIVE,
    )


def _experiment(site: Site) -> Experiment | None:
    experiment = Experiment.objects.filter(site=site, key=KEY).first()
    if experiment is not None:
        return experiment
    placement = Placement.objects.filter(site=site, key=SLOT).first()
    metrics = {m.key: m for m in Metric.objects.filter(site=site)}
    if placement is None or "checked-out" not in metrics:
        return None  # the content or analytics demo is missing: nothing to test
    variant = placement.variants.filter(key="free-checking").first()
    if variant is None:
        return None
    roles = [("checked-out", "primary"), ("revenue", "secondary"), ("orders", "guardrail")]
    experiment = experiment_create(
        site=site,
        key=KEY,
        name="Free checking for campaign visitors",
        hypothesis="Showing visitors who come from a campaign the free-checking offer gets "
        "more checkouts than the personalized offers.",
        placement=placement,
        # Campaign traffic only, so that the demo page's presets (none comes from a
        # campaign source) keep showing what their segments get.
        audience=_campaign_audience(site),
        arms=[
            {"key": "control", "name": "Personalized offers", "is_control": True},
            {"key": "free-checking", "name": "Free checking", "content_variant": variant},
        ],
        metrics=[{"metric": metrics[k], "role": role} for k, role in roles if k in metrics],
        tuning=4000,
    )
    experiment_start(experiment=experiment)
    return experiment


def _simulate(site: Site, experiment: Experiment, now: datetime) -> tuple[list, list]:
    rng = random.Random(SEED)
    arms = list(experiment.arms.order_by("-is_control", "key"))
    weights = [arm.weight for arm in arms]
    ranges = bucket_ranges(weights, coverage=experiment.coverage)
    total = sum(weights)
    start = datetime.combine(now.astimezone(UTC).date() - timedelta(days=DAYS), time.min, UTC)
    assignments: list[Assignment] = []
    events: list[Event] = []
    for day in range(DAYS):
        for n in range(VISITORS_PER_DAY):
            unit = f"{PREFIX}{day}-{n}"
            seen = start + timedelta(days=day, seconds=rng.uniform(0, 86_000))
            if seen >= now:
                continue
            index = choose_bucket(hash_unit(experiment.seed, unit), ranges)
            if index < 0:
                continue
            arm = arms[index]
            assignments.append(
                Assignment(
                    site=site,
                    experiment=experiment,
                    phase=1,
                    unit_id=unit,
                    arm_key=arm.key,
                    probability=arm.weight / total,
                    first_exposed_at=seen,
                )
            )
            variant = rng.choice(CONTROL_VARIANTS) if arm.is_control else arm.variant.key
            slot = {
                "slot": SLOT,
                "variant": variant,
                "reason": "experiment",
                "reason_key": f"{KEY}:{arm.key}",
            }
            events.append(
                Event(
                    site=site,
                    visitor_id=unit,
                    kind="impression",
                    name="impression",
                    occurred_at=seen,
                    **slot,
                )
            )
            if rng.random() < BUY_RATE.get(arm.key, BUY_RATE["control"]):
                at = seen + timedelta(hours=rng.uniform(0.1, 150))
                if at < now:
                    events.append(
                        Event(
                            site=site,
                            visitor_id=unit,
                            kind="conversion",
                            name="checkout",
                            occurred_at=at,
                            properties={"total": round(rng.lognormvariate(3.6, 0.6), 2)},
                        )
                    )
    return assignments, events


def seed(site: Site, *, stdout: TextIO | None = None) -> None:
    _seed_experiment(site, stdout=stdout)
    demo_optimization.seed(site, stdout=stdout)


def _seed_experiment(site: Site, *, stdout: TextIO | None = None) -> None:
    experiment = _experiment(site)
    if experiment is None:
        if stdout:
            stdout.write("  Experiments demo: skipped (no `offers` placement or metrics)\n")
        return
    if not GlobalHoldout.objects.filter(site=site).exists():
        holdout_set(site=site, enabled=False, share=0.05)
    if Assignment.objects.filter(experiment=experiment).exists():
        return
    now = timezone.now()
    started = now - timedelta(days=DAYS)
    assignments, events = _simulate(site, experiment, now)
    with transaction.atomic():
        Experiment.objects.filter(pk=experiment.pk).update(started_at=started)
        ExperimentPhase.objects.filter(experiment=experiment, number=1).update(started_at=started)
        Assignment.objects.bulk_create(assignments, batch_size=2000)
        Event.objects.bulk_create(events, batch_size=2000)
    today = now.astimezone(UTC).date()
    rollups_rebuild(site=site, since=today - timedelta(days=DAYS), until=today)
    # The results page reads the experiment's own rollups: fill them now, so it tells
    # its story on the first run (the scheduled refresh keeps them up to date after).
    experiment_rollups_refresh(experiment=experiment, now=now)
    if stdout:
        stdout.write(
            f"  Experiments demo: '{KEY}' running with {len(assignments)} assigned visitors "
            f"and {len(events)} events; open /admin/experiments/experiment/\n"
        )
