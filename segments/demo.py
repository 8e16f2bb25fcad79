"""Demo data for this app, called by `manage.py seed_demo` (idempotent).

~3,000 generated profiles with realistic traits and last contexts, ~10,000 events
(purchases with category and price, page views), a custom `profile.balance` field and the
demo audiences (Detroit shoe shoppers, iOS users on old app versions, rainy
evenings…), so that counts in the admin and the builder mean something.
Generation is deterministic (fixed seed); times are relative to the first run.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from django.db import transaction
from django.utils import timezone

from segments.criteria.examples import example_tree
from segments.models import Event, EventKind, Field, Profile, Segment, SegmentStatus
from segments.services.fields import field_catalog_seed, field_create
from segments.services.segments import segment_create
from tenancy.models import Site

SEED = 20261122
PROFILES = 3000
PREFIX = "demo-"
RECENT_EVENTS = 50

CITIES = [
    # city, region, country, weight
    ("Detroit", "MI", "US", 26),
    ("Ann Arbor", "MI", "US", 8),
    ("Chicago", "IL", "US", 16),
    ("New York", "NY", "US", 16),
    ("Austin", "TX", "US", 10),
    ("Seattle", "WA", "US", 10),
    ("Toronto", "ON", "CA", 8),
    ("Boston", "MA", "US", 6),
]
INTERESTS = ["shoes", "running", "fashion", "tech", "travel", "cooking", "finance", "music"]
CATEGORIES = [("shoes", 35), ("apparel", 20), ("electronics", 15), ("groceries", 20), ("books", 10)]
PAGES = ["/", "/shoes", "/offers", "/college", "/college/scholarships", "/accounts", "/app"]
WEATHER = [("clear", 40), ("clouds", 30), ("rain", 20), ("snow", 7), ("fog", 3)]

SEGMENTS: list[dict[str, Any]] = [
    {
        "key": "detroit-shoe-shoppers",
        "name": "Women 20-30 in Detroit buying shoes under $50",
        "description": "Women aged 20-30 in Detroit who bought shoes under $50 at least twice "
        "in the last 90 days.",
        "criteria": example_tree("detroit-shoe-shoppers"),
    },
    {
        "key": "ios-legacy-app",
        "name": "iOS below 17 on app version < 3.2",
        "description": "Candidates for the upgrade banner.",
        "criteria": example_tree("ios-legacy-app"),
    },
    {
        "key": "college-landing",
        "name": "From the college landing page",
        "description": "Arrived on a /college page.",
        "criteria": example_tree("college-landing"),
    },
    {
        "key": "rainy-evening",
        "name": "Evening and raining",
        "description": "Raining where the visitor is, between 18:00 and 06:00 local time.",
        "criteria": example_tree("rainy-evening"),
    },
    {
        "key": "night",
        "name": "At night",
        "description": "Between 22:00 and 05:00 in the visitor's local time.",
        "criteria": example_tree("night"),
    },
    {
        "key": "in-car",
        "name": "In a car",
        "description": "Using the app from a car.",
        "criteria": example_tree("in-car"),
    },
    {
        "key": "high-balance",
        "name": "High-balance customers",
        "description": "Lifetime value or account balance of at least $50,000.",
        "criteria": example_tree("high-balance"),
    },
    {
        "key": "loyal-customers",
        "name": "Loyal customers",
        "description": "Gold or platinum tier, or five purchases in the last year.",
        "criteria": example_tree("loyal-customers"),
    },
    {
        "key": "spring-promo-rollout",
        "name": "Spring promo: 25% of loyal customers",
        "description": "A deterministic 25% rollout within loyal customers.",
        "criteria": example_tree("spring-promo-rollout"),
    },
]


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _profile(rng: random.Random, n: int, now: datetime) -> tuple[Profile, list[dict[str, Any]]]:
    city, region, country, _ = rng.choices(CITIES, weights=[c[3] for c in CITIES])[0]
    gender = _pick(rng, [("female", 48), ("male", 46), ("non_binary", 4), ("unknown", 2)])
    age = max(18, min(80, int(rng.gauss(36, 12))))
    if city == "Detroit" and gender == "female" and rng.random() < 0.35:
        age = rng.randint(20, 30)  # enough young Detroit shoppers for the headline segment
    tier = _pick(rng, [("bronze", 50), ("silver", 30), ("gold", 15), ("platinum", 5)])
    ltv = round(rng.lognormvariate(7.0, 1.3), 2)
    if rng.random() < 0.03:
        ltv = round(rng.uniform(50_000, 250_000), 2)
    balance = round(rng.lognormvariate(8.5, 1.2), 2)
    signup = now.date() - timedelta(days=rng.randint(1, 1200))
    traits = {
        "age": age,
        "gender": gender,
        "city": city,
        "region": region,
        "country": country,
        "birth_date": date(now.year - age, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
        "signup_date": signup.isoformat(),
        "interests": sorted(rng.sample(INTERESTS, rng.randint(1, 3))),
        "loyalty_tier": tier,
        "lifetime_value": ltv,
        "balance": balance,
    }
    device = _pick(rng, [("mobile", 58), ("desktop", 30), ("tablet", 6), ("car", 6)])
    if device in ("mobile", "tablet", "car"):
        os_name = "iOS" if rng.random() < 0.55 else "Android"
        major = rng.randint(15, 18) if os_name == "iOS" else rng.randint(11, 15)
        os_version = f"{major}.{rng.randint(0, 6)}"
        channel = "app" if rng.random() < 0.7 else "web"
    else:
        os_name = rng.choice(["macOS", "Windows", "Linux"])
        os_version = rng.choice(["13.6", "14.2", "10", "11"])
        channel = "web"
    hour = rng.randint(0, 23)
    local = now.replace(hour=hour, minute=rng.randint(0, 59), second=0, microsecond=0)
    context: dict[str, Any] = {
        "device_type": device,
        "os": os_name,
        "os_version": os_version,
        "channel": channel,
        "language": "en-US",
        "country": country,
        "region": region,
        "city": city,
        "weather": _pick(rng, WEATHER),
        "local_time": local.strftime("%Y-%m-%dT%H:%M:00-05:00"),
        "landing_page": _pick(
            rng, [(p, w) for p, w in zip(PAGES, [30, 15, 15, 8, 4, 18, 10], strict=True)]
        ),
        "in_car": device == "car" or rng.random() < 0.03,
    }
    if channel == "app":
        context["app_version"] = f"{rng.randint(2, 3)}.{rng.randint(0, 9)}"
    first_seen = now - timedelta(days=rng.randint(1, 700))
    profile = Profile(
        user_id=f"{PREFIX}u-{n:05d}",
        traits=traits,
        last_context=context,
        first_seen=first_seen,
        last_seen=now - timedelta(minutes=rng.randint(0, 60 * 24 * 60)),
        visit_count=rng.randint(1, 120),
    )
    events = []
    shopper = city == "Detroit" and gender == "female" and 20 <= age <= 30
    # When people are active has a pattern a predictive model can find (its own random
    # stream, so every other draw of the demo stays as it was): gold and platinum members
    # did everything in the last two months; about a third of the others lapsed a month to
    # five ago; the rest spread over 200 days.
    timing = random.Random(SEED * 1_000_003 + n)
    regular = tier in ("gold", "platinum")
    lapsed = 0.0 if regular or timing.random() >= 0.35 else timing.uniform(30, 150)
    for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 4, 5, 6, 5])):
        rng.uniform(0, 200), rng.randint(0, 1440)  # the main stream's draws, kept
        days_ago = timing.uniform(0, 60) if regular else timing.uniform(lapsed, 200)
        when = now - timedelta(days=days_ago, minutes=timing.randint(0, 1440))
        if rng.random() < 0.45:
            category = "shoes" if shopper and rng.random() < 0.6 else _pick(rng, CATEGORIES)
            price = round(rng.uniform(15, 49) if shopper else rng.lognormvariate(3.8, 0.7), 2)
            events.append(
                {
                    "name": "purchase",
                    "properties": {"category": category, "price": price},
                    "at": when,
                }
            )
        else:
            events.append(
                {"name": "page_view", "properties": {"path": rng.choice(PAGES)}, "at": when}
            )
    return profile, events


def _seed_people(site: Site, stdout: TextIO | None) -> None:
    if Profile.objects.filter(site=site, user_id__startswith=PREFIX).count() >= PROFILES:
        return
    rng = random.Random(SEED)
    now = timezone.now()
    generated = []
    for n in range(PROFILES):
        profile, events = _profile(rng, n, now)
        profile.site = site
        events.sort(key=lambda e: e["at"], reverse=True)
        profile.recent_events = [
            {"name": e["name"], "properties": e["properties"], "timestamp": e["at"].isoformat()}
            for e in events[:RECENT_EVENTS]
        ]
        generated.append((profile, events))
    with transaction.atomic():
        Profile.objects.bulk_create(
            [p for p, _ in generated], batch_size=500, ignore_conflicts=True
        )
        ids = dict(
            Profile.objects.filter(site=site, user_id__startswith=PREFIX).values_list(
                "user_id", "pk"
            )
        )
        rows = []
        for profile, events in generated:
            for i, event in enumerate(events):
                rows.append(
                    Event(
                        site=site,
                        profile_id=ids[profile.user_id],
                        visitor_id=profile.user_id,
                        event_id=f"{profile.user_id}-e{i}",
                        kind=EventKind.CONVERSION
                        if event["name"] == "purchase"
                        else EventKind.CUSTOM,
                        name=event["name"],
                        properties=event["properties"],
                        occurred_at=event["at"],
                    )
                )
        Event.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    if stdout:
        stdout.write(f"  Segments demo: {len(generated)} profiles, {len(rows)} events\n")


def seed(site: Site, *, stdout: TextIO | None = None) -> None:
    field_catalog_seed(site=site)
    if not Field.objects.filter(site=site, path="profile.balance").exists():
        field_create(
            site=site,
            path="profile.balance",
            type="number",
            label="Account balance",
            help_text="Current balance across accounts, in dollars.",
        )
    _seed_people(site, stdout)
    existing = set(Segment.objects.filter(site=site).values_list("key", flat=True))
    for spec in SEGMENTS:
        if spec["key"] not in existing:
            segment_create(site=site, status=SegmentStatus.ACTIVE, **spec)
    if stdout:
        stdout.write(f"  Segments demo: {len(SEGMENTS)} segments on {site.slug}\n")
