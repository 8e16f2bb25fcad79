"""The benchmark site: 100 active segments, 30 placements of 5 variants, one screen."""

from __future__ import annotations

import random
from typing import Any

CITIES = ["Detroit", "Chicago", "Boston", "Austin", "Denver", "Seattle", "Miami", "Atlanta"]
INTERESTS = ["shoes", "bags", "travel", "music", "sports", "books", "games", "food"]


def segment_tree(i: int) -> dict[str, Any]:
    kind = i % 10
    city = CITIES[i % len(CITIES)]
    if kind == 0:
        return {"all": [{"field": "context.city", "op": "eq", "value": city}]}
    if kind == 1:
        lo = 18 + (i % 40)
        return {
            "all": [
                {"field": "profile.age", "op": "between", "value": [lo, lo + 10]},
                {"field": "profile.gender", "op": "in", "value": ["female", "non_binary"]},
            ]
        }
    if kind == 2:
        return {
            "all": [
                {"field": "context.os", "op": "eq", "value": "iOS"},
                {"field": "context.os_version", "op": "gte", "value": f"17.{i % 5}"},
            ]
        }
    if kind == 3:
        return {
            "all": [
                {
                    "field": "profile.interests",
                    "op": "contains_any",
                    "value": [INTERESTS[i % 8], INTERESTS[(i + 3) % 8]],
                },
                {"field": "profile.lifetime_value", "op": "lt", "value": 50 + i},
            ]
        }
    if kind == 4:
        return {
            "all": [
                {"field": "context.weather", "op": "in", "value": ["rain", "snow"]},
                {"field": "context.local_time", "op": "hour_between", "value": [18, 6]},
            ]
        }
    if kind == 5:
        return {
            "all": [
                {
                    "event": "purchase",
                    "count": {"op": "gte", "value": 1 + i % 3},
                    "within_days": 90,
                    "where": {"all": [{"field": "properties.price", "op": "lt", "value": 50}]},
                }
            ]
        }
    if kind == 6:
        return {
            "all": [
                {"rollout": 10 + i % 50, "salt": f"bench-{i}"},
                {"field": "context.device_type", "op": "eq", "value": "mobile"},
            ]
        }
    if kind == 7:  # behavioural too: 20 of every 100 segments count events
        return {
            "any": [
                {
                    "event": ("view", "click", "purchase")[i % 3],
                    "count": {"op": "gte", "value": 2 + i % 4},
                    "within_days": (7, 30, 90)[i % 3],
                    "where": {
                        "all": [
                            {"field": "properties.category", "op": "eq", "value": INTERESTS[i % 8]}
                        ]
                    },
                },
                {"field": "context.landing_page", "op": "starts_with", "value": f"/college/{i}"},
            ]
        }
    if kind == 8:
        return {
            "none": [
                {"field": "context.country", "op": "eq", "value": "US"},
                {"field": "profile.loyalty_tier", "op": "in", "value": ["gold", "platinum"]},
            ]
        }
    return {
        "all": [
            {"segment": f"seg-{i - 9:03d}"},
            {"field": "context.utm_source", "op": "eq", "value": "google"},
        ]
    }


def seed_bench_site(slug: str = "bench") -> Any:
    """(Re)create the benchmark site through the services and publish everything."""
    from content.services.drafts import (
        content_variant_create,
        placement_create,
        screen_create,
        screen_variant_create,
    )
    from content.services.publishing import slot_publish
    from segments.models import SegmentStatus
    from segments.services.segments import segment_create
    from tenancy.models import Site
    from tenancy.services import site_create

    Site.objects.filter(slug=slug).delete()
    site = site_create(
        name="Benchmark",
        slug=slug,
        timezone_name="America/Detroit",
        allowed_origins=["https://bench.example"],
    )
    segments = [
        segment_create(
            site=site,
            key=f"seg-{i:03d}",
            name=f"Segment {i}",
            criteria=segment_tree(i),
            status=SegmentStatus.ACTIVE,
        )
        for i in range(100)
    ]
    rng = random.Random(7)
    for p in range(30):
        placement = placement_create(site=site, key=f"placement_{p:02d}", name=f"Placement {p}")
        for v, segment in enumerate(rng.sample(segments, 4)):
            content_variant_create(
                placement=placement,
                key=f"p{p}-v{v}",
                name=f"V{v}",
                body=f"<p>Placement {p} for {segment.key}</p>",
                segment=segment,
                priority=v,
            )
        content_variant_create(
            placement=placement, key=f"p{p}-default", name="Default", body=f"<p>Placement {p}</p>"
        )
        slot_publish(slot=placement)
    screen = screen_create(site=site, key="home", name="Home")
    screen_variant_create(
        screen=screen,
        key="rainy",
        name="Rainy",
        segment=segments[4],
        design={"root": {"type": "Stack", "children": [{"type": "Umbrella"}]}},
    )
    screen_variant_create(
        screen=screen, key="default", name="Default", design={"root": {"type": "Stack"}}
    )
    slot_publish(slot=screen)
    return site


def visitor_documents(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """Varied anonymous and known visitor documents (as decide builds them)."""
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    now = datetime.now(UTC)
    docs = []
    for i in range(n):
        known = i % 3 == 0
        events = [
            {
                "name": rng.choice(["purchase", "view", "click"]),
                "properties": {"price": rng.randint(5, 120)},
                "timestamp": (now - timedelta(days=rng.randint(0, 120))).isoformat(),
            }
            for _ in range(rng.randint(0, 20) if known else 0)
        ]
        docs.append(
            {
                "visitor": {
                    "id": f"u-{i}" if known else f"anon-{i}",
                    "is_known": known,
                    "consent": True,
                },
                "profile": {
                    "age": rng.randint(16, 70),
                    "gender": rng.choice(["female", "male"]),
                    "interests": rng.sample(INTERESTS, 2),
                    "lifetime_value": rng.randint(0, 500),
                    "loyalty_tier": rng.choice(["bronze", "gold"]),
                }
                if known
                else {},
                "context": {
                    "city": rng.choice(CITIES),
                    "device_type": rng.choice(["mobile", "desktop", "tablet"]),
                    "os": rng.choice(["iOS", "Android", "Windows"]),
                    "os_version": f"17.{rng.randint(0, 6)}",
                    "weather": rng.choice(["rain", "clear", "snow"]),
                    "country": rng.choice(["US", "CA"]),
                    "local_time": (now - timedelta(hours=rng.randint(0, 23))).isoformat(),
                    "utm_source": rng.choice(["google", "newsletter"]),
                    "landing_page": "/",
                },
                "events": events,
            }
        )
    return docs
