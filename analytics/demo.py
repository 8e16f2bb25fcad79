"""The demo's analytics (called by `seed_demo`): metrics, three weeks of simulated traffic
with a real effect, and the rollups built from it, so the dashboard tells a story at once.

Conversions are web checkouts (`checkout`, with a `total`), apart from the purchase
history the segments demo gives its people. The story: on the home hero, loyal customers
mostly see the loyal discount (targeted by segment) and a 20 % holdout of them sees the
default (reason: the "loyal-holdout" holdout). The discount converts about three times
better for them (less once exposures on several days share a checkout); for everyone else
the variants convert alike. Seeded, so every run tells the same story.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from analytics.models import Metric
from analytics.services.metrics import metric_create
from analytics.services.rollups import (
    member_profiles,
    rollups_rebuild,
    segment_sizes_record,
)
from segments.models import Event, Profile, Segment
from tenancy.models import Site

SEED = 20261130
DAYS = 21
VISITORS_PER_DAY = 420
PREFIX = "sim-"
METRICS = [
    {
        "key": "checked-out",
        "name": "Checked out",
        "kind": "conversion",
        "event": "checkout",
        "window_days": 7,
    },
    {
        "key": "revenue",
        "name": "Revenue",
        "kind": "sum",
        "event": "checkout",
        "property": "total",
        "window_days": 7,
        "cap": "percentile",
        "cap_value": 99,
    },
    {"key": "orders", "name": "Orders", "kind": "count", "event": "checkout", "window_days": 7},
]
# Conversion probability within the week after seeing the hero.
BUY_RATE = {("loyal", "loyal-discount"): 0.24, ("loyal", "default"): 0.08}
BASE_BUY_RATE = 0.05


def _metrics(site: Site) -> None:
    existing = set(Metric.objects.filter(site=site).values_list("key", flat=True))
    for spec in METRICS:
        if spec["key"] not in existing:
            metric_create(site=site, **spec)
    if "aov" not in existing:
        metric_create(
            site=site,
            key="aov",
            name="Average order value",
            kind="ratio",
            numerator=Metric.objects.get(site=site, key="revenue"),
            denominator=Metric.objects.get(site=site, key="orders"),
        )


def _segment_members(site: Site, key: str) -> set[int]:
    segment = Segment.objects.filter(site=site, key=key).first()
    members = member_profiles(segment=segment) if segment else None
    return set(members.values_list("pk", flat=True)) if members is not None else set()


def _hero(rng: random.Random, loyal: bool, detroit: bool) -> tuple[str, str, str]:
    if loyal:
        if rng.random() < 0.2:
            return "default", "holdout", "loyal-holdout"
        return "loyal-discount", "segment", "loyal-customers"
    if detroit:
        return "detroit-shoes", "segment", "detroit-shoe-shoppers"
    return "default", "default", ""


def _simulate(site: Site, now: datetime) -> list[Event]:
    rng = random.Random(SEED)
    people = list(
        Profile.objects.filter(site=site)
        .exclude(user_id__startswith=PREFIX)
        .values_list("pk", flat=True)
    )
    loyal = _segment_members(site, "loyal-customers")
    detroit = _segment_members(site, "detroit-shoe-shoppers")
    start = datetime.combine(now.astimezone(UTC).date() - timedelta(days=DAYS), time.min, UTC)
    rows: list[Event] = []

    def add(**fields) -> None:
        rows.append(Event(site=site, **fields))

    for day in range(DAYS):
        for n in range(VISITORS_PER_DAY):
            known = people and rng.random() < 0.6
            profile_id = rng.choice(people) if known else None
            visitor = f"{PREFIX}{profile_id}" if known else f"{PREFIX}anon-{day}-{n}"
            seen = start + timedelta(days=day, seconds=rng.uniform(0, 86_000))
            if seen >= now:
                continue
            is_loyal = profile_id in loyal
            variant, reason, reason_key = _hero(rng, is_loyal, profile_id in detroit)
            common = {"profile_id": profile_id, "visitor_id": visitor}
            slot = {
                "slot": "home_hero",
                "variant": variant,
                "reason": reason,
                "reason_key": reason_key,
            }
            add(kind="impression", name="impression", occurred_at=seen, **common, **slot)
            if rng.random() < 0.12 + 0.08 * (variant == "loyal-discount"):
                add(
                    kind="click",
                    name="click",
                    occurred_at=seen + timedelta(seconds=20),
                    **common,
                    **slot,
                )
            offer = rng.choice(("free-checking", "retirement-advice", "default"))
            offer_slot = {
                "slot": "offers",
                "variant": offer,
                "reason": "segment" if offer != "default" else "default",
                "reason_key": {
                    "free-checking": "college-landing",
                    "retirement-advice": "high-balance",
                }.get(offer, ""),
            }
            add(
                kind="impression",
                name="impression",
                occurred_at=seen + timedelta(seconds=5),
                **common,
                **offer_slot,
            )
            if rng.random() < 0.06:
                add(
                    kind="click",
                    name="click",
                    occurred_at=seen + timedelta(seconds=40),
                    **common,
                    **offer_slot,
                )
            rate = BUY_RATE.get(("loyal" if is_loyal else "other", variant), BASE_BUY_RATE)
            if rng.random() < rate:
                at = seen + timedelta(hours=rng.uniform(0.1, 100))
                if at < now:
                    price = round(rng.lognormvariate(3.6, 0.6), 2)
                    add(
                        kind="conversion",
                        name="checkout",
                        occurred_at=at,
                        properties={
                            "total": price,
                            "category": rng.choice(("shoes", "bags", "hats")),
                        },
                        **common,
                    )
    return rows


def seed(site: Site, *, stdout: TextIO | None = None) -> None:
    """Idempotent: simulated traffic is added once; rollups are rebuilt every run."""
    _metrics(site)
    now = timezone.now()
    if not Event.objects.filter(site=site, visitor_id__startswith=PREFIX).exists():
        rows = _simulate(site, now)
        with transaction.atomic():
            Event.objects.bulk_create(rows, batch_size=2000)
        if stdout:
            stdout.write(f"  Analytics demo: {len(rows)} simulated events over {DAYS} days\n")
    today = now.astimezone(UTC).date()
    result = rollups_rebuild(site=site, since=today - timedelta(days=DAYS), until=today)
    for back in range(DAYS, -1, -1):
        day = today - timedelta(days=back)
        as_of = datetime.combine(day, time.max, UTC) if back else None
        segment_sizes_record(site=site, day=day, as_of=as_of)
    if stdout:
        stdout.write(f"  Analytics demo: rollups of {result.days} days; open /admin/reports/\n")
    _predictive(site, stdout)


def _predictive(site: Site, stdout: TextIO | None) -> None:
    """A "purchase within 14 days" model on the demo people's purchase history, trained
    (and enabled when it has a held-out AUC) so the admin shows its quality at once."""
    from analytics.models import PredictiveModel
    from analytics.predictive.services import (
        predictive_field_register,
        predictive_model_create,
        predictive_model_enable,
        predictive_model_train,
        predictive_scores_write,
    )

    model = PredictiveModel.objects.filter(site=site, name="purchase_14d").first()
    if model is None:
        model = predictive_model_create(
            site=site, name="purchase_14d", goal_event="purchase", horizon_days=14
        )
    result = predictive_model_train(model=model)
    if result.version is not None and result.version.auc is not None:
        if model.enabled:
            predictive_field_register(model=model)
        else:
            predictive_model_enable(model=model)
        predictive_scores_write(model=model)
    if stdout:
        stdout.write(f"  Analytics demo: predictive model purchase_14d: {result.detail}\n")
