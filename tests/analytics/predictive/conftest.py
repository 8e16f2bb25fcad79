"""A simulated population with known structure: each person visits (page views) at their own
rate, some stop coming at some point, and buys at a rate that grows with how active they are
and triples for VIPs (a boolean trait in the catalog). So recency, frequency and the trait
all predict a purchase in the next days."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from segments.models import Event, Field, Profile
from tenancy.models import Site


def _poisson_times(rng: random.Random, rate: float, start: datetime, end: datetime) -> list:
    times = []
    at = start
    while rate > 0:
        at = at + timedelta(days=rng.expovariate(rate))
        if at >= end:
            return times
        times.append(at)
    return times


def simulate(site: Site, *, n: int, now: datetime, seed: int = 7, history_days: int = 90) -> None:
    rng = random.Random(seed)
    Field.objects.get_or_create(
        site=site, path="profile.vip", defaults={"type": "boolean", "label": "VIP"}
    )
    profiles = [
        Profile(
            site=site,
            user_id=f"p{i:05d}",
            traits={"vip": rng.random() < 0.3},
            first_seen=now - timedelta(days=rng.uniform(20, 400)),
            visit_count=rng.randint(1, 30),
        )
        for i in range(n)
    ]
    Profile.objects.bulk_create(profiles)
    events = []
    for profile in Profile.objects.filter(site=site).order_by("pk"):
        activity = rng.lognormvariate(math.log(0.12), 0.7)  # page views a day
        buy_rate = activity * 0.25 * (3.0 if profile.traits["vip"] else 1.0)
        start = max(profile.first_seen, now - timedelta(days=history_days))
        stop = now - timedelta(days=rng.uniform(0, history_days)) if rng.random() < 0.4 else now
        for name, rate in (("page_view", activity), ("purchase", buy_rate)):
            for at in _poisson_times(rng, rate, start, min(stop, now)):
                events.append(
                    Event(
                        site=site,
                        profile=profile,
                        visitor_id=profile.user_id,
                        name=name,
                        occurred_at=at,
                    )
                )
    Event.objects.bulk_create(events, batch_size=2000)


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def population(site, now):
    simulate(site, n=1500, now=now)
    return site
