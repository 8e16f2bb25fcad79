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
logged as a PolicyDecision and each claim as a `deal_claimed` event; every two days a
model is trained on the decisions whose goal window has closed (`train_version`) and goes
live if the promotion gate lets it. Seeded, so every run tells the same story; idempotent.
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
    PolicyVersion,
    PolicyVersionStatus,
)
from experiments.policy.compiled import CompiledPolicy, single_leaf_policy
from experiments.policy.features import (
    FeatureEncoder,
    extract_values,
    fit_encoder_values,
    parse_feature_spec,
)
from experiments.policy.logs import Logs
from experiments.policy.ope import promote
from experiments.policy.serve import decide
from experiments.policy.train import TrainConfig, train_policy
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
HELD_OUT = 0.25  # share of the logs kept aside (by visitor) for the promotion gate
PREFIX = "opt-"
DEVICES = (("mobile", 0.5), ("desktop", 0.35), ("tablet", 0.15))
FEATURES = [
    {"kind": "category", "field": "context.device_type", "top_k": 5},
    {"kind": "hour", "field": "context.local_time"},
]
CONFIG = TrainConfig(max_depth=3, min_leaf=200, floor=FLOOR)
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
        max_depth=CONFIG.max_depth,
        min_leaf=CONFIG.min_leaf,
    )
    for variant in placement.variants.all():
        OptimizationArm.objects.create(
            optimization=optimization, key=variant.key, content_variant=variant
        )
    return optimization


def train_version(
    *,
    optimization: Optimization,
    encoder: FeatureEncoder,
    live: CompiledPolicy,
    live_row: PolicyVersion | None,
    decisions: list[dict[str, Any]],
    number: int,
    now: datetime,
) -> tuple[CompiledPolicy, PolicyVersion | None, PolicyVersion]:
    """Train, gate and store one model version from the decisions whose goal window has
    closed by `now`: (live policy, its row, the new row). Kept in one function so the
    demo can call the training service instead once it exists."""
    arms = live.arms
    window = [d for d in decisions if d["decided_at"] + timedelta(days=1) <= now]
    logs = Logs.from_records(
        arms=arms,
        rows=[encoder.encode_values(d["features"]) for d in window],
        actions=[d["arm"] for d in window],
        propensities=[d["propensity"] for d in window],
        rewards=[1.0 if d["converted_at"] and d["converted_at"] <= now else 0.0 for d in window],
        units=[d["unit"] for d in window],
    )
    train, held = logs.split(salt=f"{optimization.seed}:split", held_out_share=HELD_OUT)
    candidate = train_policy(
        logs=train,
        encoder=encoder,
        seed=optimization.seed,
        version=f"v{number}",
        config=CONFIG,
        rng_seed=number,
    )
    gate = promote(candidate, live, held, rule="not_worse", margin=optimization.promotion_margin)
    row = PolicyVersion.objects.create(
        optimization=optimization,
        number=number,
        status=PolicyVersionStatus.LIVE if gate.promote else PolicyVersionStatus.REJECTED,
        trained_at=now,
        window_start=window[0]["decided_at"],
        window_end=window[-1]["decided_at"],
        decisions=len(train),
        rewarded=int(train.rewards.sum()),
        held_out=len(held),
        features=FEATURES,
        policy=candidate.to_json(),
        quality=gate.as_dict(),
        promoted_at=now if gate.promote else None,
    )
    if not gate.promote:
        return live, live_row, row
    if live_row is not None:
        live_row.status = PolicyVersionStatus.RETIRED
        live_row.retired_at = now
        live_row.save(update_fields=["status", "retired_at"])
    return candidate, row, row


def _visitor(rng: random.Random) -> str:
    return rng.choices([d for d, _ in DEVICES], weights=[w for _, w in DEVICES])[0]


def _simulate(site: Site, optimization: Optimization, now: datetime) -> dict[str, Any]:
    rng = random.Random(SEED)
    tz = zoneinfo.ZoneInfo(site.timezone)
    features = parse_feature_spec(FEATURES)
    arms = tuple(optimization.arms.order_by("key").values_list("key", flat=True))
    start = datetime.combine(now.astimezone(UTC).date() - timedelta(days=DAYS), time.min, UTC)
    encoder: FeatureEncoder | None = None
    live: CompiledPolicy | None = None
    live_row: PolicyVersion | None = None
    decisions: list[dict[str, Any]] = []
    versions: list[PolicyVersion] = []
    for day in range(DAYS):
        moment = start + timedelta(days=day)
        if day and day % RETRAIN_DAYS == 0 and encoder is not None and live is not None:
            live, live_row, row = train_version(
                optimization=optimization,
                encoder=encoder,
                live=live,
                live_row=live_row,
                decisions=decisions,
                number=len(versions) + 1,
                now=moment,
            )
            versions.append(row)
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
        if encoder is None:  # the vocabularies come from the first day's traffic
            encoder = fit_encoder_values(features, [d["features"] for d in today])
            live = single_leaf_policy(arms=arms, encoder=encoder, seed=optimization.seed)
        assert live is not None
        version = live_row.number if live_row is not None else 0
        for d in sorted(today, key=lambda d: d["decided_at"]):
            choice = decide(
                live, encoder.encode_values(d["features"]), d["unit"], holdout_share=HOLDOUT
            )
            d.update(arm=choice.arm, propensity=choice.propensity, holdout=choice.holdout)
            d["version"] = version
            converted = rng.random() < true_rate(choice.arm, d["device"], d["hour"])
            claimed = d["decided_at"] + timedelta(hours=rng.uniform(0.05, 20))
            d["converted_at"] = claimed if converted and claimed < now else None
            decisions.append(d)
    return {"decisions": decisions, "versions": versions, "live": live_row, "start": start}


def seed(site: Site, *, stdout: TextIO | None = None) -> None:
    with transaction.atomic():
        optimization = _optimization(site)
        if optimization is None:
            if stdout:
                stdout.write("  Optimization demo: skipped (a demo segment is missing)\n")
            return
        if PolicyDecision.objects.filter(optimization=optimization).exists():
            return
        now = timezone.now()
        result = _simulate(site, optimization, now)
        decisions = result["decisions"]
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
        versions = result["versions"]
        Optimization.objects.filter(pk=optimization.pk).update(
            status=OptimizationStatus.RUNNING,
            started_at=result["start"],
            live_version=result["live"],
            last_trained_at=versions[-1].trained_at if versions else None,
        )
    if stdout:
        live = result["live"].number if result["live"] else 0
        stdout.write(
            f"  Optimization demo: '{KEY}' running (model v{live} live, {len(versions)} "
            f"trained) with {len(decisions)} decisions and {len(events)} claims\n"
        )
