"""Populations with a known structure for the suggestion tests (unit and browser)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from segments.models import Event, EventKind, Profile
from tenancy.models import Site

PLANTED = ("power", "browser", "dormant")


def plant_clusters(site: Site, *, per_group: int = 80, seed: int = 7) -> dict[str, set[int]]:
    """Three behaviours, well apart: power buyers (visit often, recently, buy 5 to 8 times in
    90 days), browsers (page views, no purchase, seen 1 or 2 weeks ago) and dormant people (a
    couple of visits, gone for two months). Returns group → profile pks."""
    rng = random.Random(seed)
    now = timezone.now()
    profiles, plan = [], []
    for group in PLANTED:
        for i in range(per_group):
            if group == "power":
                seen, first, visits = rng.uniform(0, 3), rng.uniform(300, 400), rng.randint(50, 70)
                events = [("purchase", rng.uniform(0, 60)) for _ in range(rng.randint(5, 8))]
                device = "mobile"
            elif group == "browser":
                seen, first, visits = rng.uniform(7, 15), rng.uniform(150, 250), rng.randint(12, 20)
                events = [("page_view", rng.uniform(7, 80)) for _ in range(rng.randint(10, 14))]
                device = "desktop"
            else:
                seen, first, visits = rng.uniform(60, 80), rng.uniform(100, 140), rng.randint(1, 3)
                events = []
                device = rng.choice(["desktop", "mobile"])
            profiles.append(
                Profile(
                    site=site,
                    user_id=f"{site.slug}-{group}-{i}",
                    last_seen=now - timedelta(days=seen),
                    first_seen=now - timedelta(days=first),
                    visit_count=visits,
                    last_context={"device_type": device},
                )
            )
            plan.append((group, events))
    Profile.objects.bulk_create(profiles)
    ids = dict(Profile.objects.filter(site=site).values_list("user_id", "pk"))
    rows, groups = [], {g: set() for g in PLANTED}
    for profile, (group, events) in zip(profiles, plan, strict=True):
        pk = ids[profile.user_id]
        groups[group].add(pk)
        for name, ago in events:
            rows.append(
                Event(
                    site=site,
                    profile_id=pk,
                    visitor_id=profile.user_id,
                    kind=EventKind.CONVERSION if name == "purchase" else EventKind.CUSTOM,
                    name=name,
                    occurred_at=now - timedelta(days=ago),
                )
            )
    Event.objects.bulk_create(rows)
    return groups


def plant_rfm(site: Site, *, per_group: int = 10) -> dict[str, set[int]]:
    """Four RFM groups of known recency and frequency of `purchase` (window 90 days):
    champions (6 purchases, the last 1 day ago), at_risk (6, the last 50 days ago),
    hibernating (1, 50 days ago) and new (1, 1 day ago, first seen 5 days ago; the others
    were first seen a year ago)."""
    now = timezone.now()
    spec = {
        "champions": (6, 1.04, 365),
        "at_risk": (6, 50.04, 365),
        "hibernating": (1, 50.04, 365),
        "new": (1, 1.04, 5),
    }
    groups: dict[str, set[int]] = {}
    for group, (count, last, first) in spec.items():
        groups[group] = set()
        for i in range(per_group):
            p = Profile.objects.create(
                site=site,
                user_id=f"{site.slug}-{group}-{i}",
                first_seen=now - timedelta(days=first),
                last_seen=now - timedelta(days=last),
                visit_count=count + 1,
            )
            groups[group].add(p.pk)
            Event.objects.bulk_create(
                Event(
                    site=site,
                    profile=p,
                    visitor_id=p.user_id,
                    kind=EventKind.CONVERSION,
                    name="purchase",
                    occurred_at=now - timedelta(days=last + 2 * j),
                )
                for j in range(count)
            )
    return groups
