"""The demo's optimization (called by `seed_demo` through `experiments.demo`): the
`deals_banner` placement has four deals, and a policy learns which one each visitor should
see from their device type and local hour.

The simulated truth (chance of claiming the deal within a day of seeing it):

    Everyday deals   5 % for everyone
    Commute deals    11 % on mobile before noon (local time), 2 % otherwise
    Desk setup       9.5 % on desktop, 2 % otherwise
    Evening deals    10 % off desktop from 18 h, 2 % otherwise

So each targeted deal is poor for most visitors and the best single deal is Everyday deals
(5 %; Desk setup 4.6 %, Commute deals 4.3 %, Evening deals 3.3 % on average), while the
right deal for each visitor converts about 8.9 %. Eighteen days of history
are simulated day by day through the pure policy, as delivery serves it
(`extract_values` -> `encode_values` -> `serve.decide`, 10 % random holdout), each decision
logged as a PolicyDecision and each claim as a `deal_claimed` event; every two days the
training service (`optimization_train`, what the scheduled task runs) trains a model on
what had happened by then and it goes live if the promotion gate lets it. Seeded, so every
run tells the same story; idempotent.
"""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from typing import Any, TextIO

from django.db import transaction
from django.utils import timezone

from analytics.models import Metric
from analytics.services.metrics import metric_create
from content.models import Placement
from content.services.drafts import content_variant_create, placement_create
from content.services.publishing import slot_publish
from experiments.models import (
    Optimization,
    OptimizationArm,
    OptimizationStatus,
    PolicyDecision,
)
from experiments.policy.compiled import CompiledPolicy
from experiments.policy.features import extract_values, parse_feature_spec
from experiments.policy.serve import decide
from experiments.policy.slot import compile_optimization
from experiments.services.optimization_train import optimization_train
from segments.models import Event, Segment
from tenancy.models import Site

KEY = "deals-banner"
SLOT = "deals_banner"
GOAL = "claimed-deal"
GOAL_EVENT = "deal_claimed"
SEED = 20261202
DAYS = 18
VISITORS_PER_DAY = 1400
RETRAIN_DAYS = 2
HOLDOUT = 0.10
FLOOR = 0.05
PREFIX = "opt-"
DEVICES = (("mobile", 0.5), ("desktop", 0.35), ("tablet", 0.15))
FEATURES = [
    {"kind": "category", "field": "context.device_type", "top_k": 5},
    {"kind": "hour", "field": "context.local_time"},
]
MAX_DEPTH = 3
MIN_LEAF = 200  # decisions per kind of visitor
# (key, name, the segment its rules would target, body): the optimization serves all four
# to everyone, whatever their targeting; existing demo segments, so that the demo page's
# visitor presets keep landing in the segments they are about.
DEALS = [
    (
        "commute-deals",
        "Commute deals",
        "in-car",
        "<h2>Commute deals</h2><p>Coffee and transit passes, 30% off this morning.</p>",
    ),
    (
        "desk-setup",
        "Desk setup",
        "high-balance",
        "<h2>Desk setup</h2><p>Monitors, chairs and keyboards for your home office.</p>",
    ),
    (
        "evening-deals",
        "Evening deals",
        "night",
        "<h2>Evening deals</h2><p>Tonight only: streaming, takeaway and snacks.</p>",
    ),
    ("default", "Everyday deals", None, "<h2>Everyday deals</h2><p>This week's best prices.</p>"),
]


def true_rate(arm: str, device: str, hour: int) -> float:
    """The simulated chance that a visitor claims `arm`'s deal within a day."""
    if arm == "commute-deals":
        return 0.11 if device == "mobile" and hour < 12 else 0.02
    if arm == "desk-setup":
        return 0.095 if device == "desktop" else 0.02
    if arm == "evening-deals":
        return 0.10 if device != "desktop" and hour >= 18 else 0.02
    return 0.05


def _segment(site: Site, key: str) -> Segment | None:
    return Segment.objects.filter(site=site, key=key).first()


def _placement(site: Site) -> Placement | None:
    placement = Placement.objects.filter(site=site, key=SLOT).first()
    if placement is not None:
        return placement
    segments = {key: _segment(site, key) for _, _, key, _ in DEALS if key}
    if any(s is None for s in segments.values()):
        return None  # the segments demo is missing
    placement = placement_create(
        site=site,
        key=SLOT,
        name="Deals banner",
        description="A deal on the shop's home page; which one, a policy learns per visitor.",
    )
    for i, (key, name, segment_key, body) in enumerate(DEALS):
        content_variant_create(
            placement=placement,
            key=key,
            name=name,
            body=body,
            segment=segments[segment_key] if segment_key else None,
            priority=10 * (i + 1),
        )
    slot_publish(slot=placement, note="Demo data")
    return placement


def _goal(site: Site) -> Metric:
    metric = Metric.objects.filter(site=site, key=GOAL).first()
    return metric or metric_create(
        site=site,
        key=GOAL,
        name="Claimed a deal (within a day)",
        kind="conversion",
        event=GOAL_EVENT,
        window_days=1,
    )


def _optimization(site: Site) -> Optimization | None:
    optimization = Optimization.objects.filter(site=site, key=KEY).first()
    if optimization is not None:
        return optimization
    placement = _placement(site)
    if placement is None:
        return None
    optimization = Optimization.objects.create(
        site=site,
        key=KEY,
        name="Deals banner: the right deal for each visitor",
        description="Learns which deal each visitor should see from their device type and "
        "local hour.",
        placement=placement,
        goal=_goal(site),
        features=FEATURES,
        holdout_share=HOLDOUT,
        floor=FLOOR,
        retrain_every=RETRAIN_DAYS * VISITORS_PER_DAY,
        max_depth=MAX_DEPTH,
        min_leaf=MIN_LEAF,
    )
    for variant in placement.variants.all():
        OptimizationArm.objects.create(
            optimization=optimization, key=variant.key, content_variant=variant
        )
    return optimization


def _visitor(rng: random.Random) -> str:
    return rng.choices([d for d, _ in DEVICES], weights=[w for _, w in DEVICES])[0]


def _served(optimization: Optimization) -> CompiledPolicy:
    """The policy delivery serves for the optimization now (as its snapshot compiles it)."""
    live = optimization.live_version
    return compile_optimization(
        key=optimization.key,
        slot_kind="placement",
        slot_key=SLOT,
        variants=dict(optimization.arms.values_list("key", "content_variant__key")),
        features=optimization.features,
        seed=optimization.seed,
        holdout_share=optimization.holdout_share,
        version=live.number if live is not None else 0,
        policy=live.policy if live is not None else None,
    ).policy


def _write(site: Site, optimization: Optimization, decisions: list[dict[str, Any]]) -> int:
    """Store a day's decisions and the claims they led to; the number of claims."""
    PolicyDecision.objects.bulk_create(
        [
            PolicyDecision(
                site=site,
                optimization=optimization,
                version=d["version"],
                unit_id=d["unit"],
                arm_key=d["arm"],
                propensity=d["propensity"],
                holdout=d["holdout"],
                features=d["features"],
                decided_at=d["decided_at"],
            )
            for d in decisions
        ],
        batch_size=2000,
    )
    events = [
        Event(
            site=site,
            visitor_id=d["unit"],
            kind="conversion",
            name=GOAL_EVENT,
            occurred_at=d["converted_at"],
        )
        for d in decisions
        if d["converted_at"] is not None
    ]
    Event.objects.bulk_create(events, batch_size=2000)
    return len(events)


def _simulate(site: Site, optimization: Optimization, now: datetime) -> dict[str, Any]:
    """Day by day: the day's visitors served by the live policy, their decisions and claims
    stored, and every RETRAIN_DAYS the training service run at that moment (it reads only
    what had happened by then, gates the candidate and keeps the version)."""
    rng = random.Random(SEED)
    tz = zoneinfo.ZoneInfo(site.timezone)
    features = parse_feature_spec(FEATURES)
    start = datetime.combine(now.astimezone(UTC).date() - timedelta(days=DAYS), time.min, UTC)
    Optimization.objects.filter(pk=optimization.pk).update(
        status=OptimizationStatus.RUNNING, started_at=start
    )
    optimization.refresh_from_db()
    decided = claims = 0
    for day in range(DAYS):
        moment = start + timedelta(days=day)
        if day and day % RETRAIN_DAYS == 0:
            optimization_train(optimization=optimization, now=moment, force=True)
            optimization.refresh_from_db()
        live = _served(optimization)
        version = optimization.live_version.number if optimization.live_version else 0
        today: list[dict[str, Any]] = []
        for n in range(VISITORS_PER_DAY):
            at = moment + timedelta(seconds=rng.uniform(0, 86_400))
            device = _visitor(rng)
            if at >= now:  # after drawing, so the stream does not depend on the hour
                continue
            local = at.astimezone(tz)
            doc = {"context": {"device_type": device, "local_time": local.isoformat()}}
            today.append(
                {
                    "unit": f"{PREFIX}{day}-{n}",
                    "decided_at": at,
                    "device": device,
                    "hour": local.hour,
                    "features": extract_values(features, doc, now=at),
                }
            )
        for d in sorted(today, key=lambda d: d["decided_at"]):
            choice = decide(
                live, live.encoder.encode_values(d["features"]), d["unit"], holdout_share=HOLDOUT
            )
            d.update(arm=choice.arm, propensity=choice.propensity, holdout=choice.holdout)
            d["version"] = version
            converted = rng.random() < true_rate(choice.arm, d["device"], d["hour"])
            claimed = d["decided_at"] + timedelta(hours=rng.uniform(0.05, 20))
            d["converted_at"] = claimed if converted and claimed < now else None
        claims += _write(site, optimization, today)
        decided += len(today)
    optimization.refresh_from_db()
    return {"decisions": decided, "claims": claims, "optimization": optimization}


def seed(site: Site, *, stdout: TextIO | None = None) -> None:
    with transaction.atomic():
        optimization = _optimization(site)
        if optimization is None:
            if stdout:
                stdout.write("  Optimization demo: skipped (a demo segment is missing)\n")
            return
        if PolicyDecision.objects.filter(optimization=optimization).exists():
            return
        result = _simulate(site, optimization, timezone.now())
    if stdout:
        optimization = result["optimization"]
        live = optimization.live_version.number if optimization.live_version else 0
        trained = optimization.versions.count()
        stdout.write(
            f"  Optimization demo: '{KEY}' running (model v{live} live, {trained} "
            f"trained) with {result['decisions']} decisions and {result['claims']} claims\n"
        )
