"""Rollups agree with a brute-force count of the events, fold late events in, and rebuild
idempotently; segment breakdowns count members only."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from analytics.models import MetricDay, RollupState, SegmentSizeDay, VariantDay
from analytics.services.metrics import metric_create
from analytics.services.rollups import rollups_rebuild, rollups_refresh
from segments.models import Event, Profile, SegmentStatus
from segments.services.fields import field_create
from segments.services.segments import segment_create

pytestmark = pytest.mark.django_db

DAY0 = date(2026, 11, 2)
SLOTS = {"hero": ("a", "b"), "offers": ("x", "y")}


def at(day: int, hour: float) -> datetime:
    return datetime(2026, 11, 2, tzinfo=UTC) + timedelta(days=day, hours=hour)


def vip_segment(site):
    field_create(site=site, path="profile.vip", type="boolean", label="VIP")
    return segment_create(
        site=site,
        key="vips",
        name="VIPs",
        criteria={"all": [{"field": "profile.vip", "op": "is_true"}]},
        status=SegmentStatus.ACTIVE,
    )


def make_events(site, seed: int = 1) -> list[Event]:
    """Four days of traffic: 30 anonymous visitors and 10 known ones (half of them VIPs)."""
    rng = random.Random(seed)
    profiles = [
        Profile.objects.create(site=site, user_id=f"u{i}", traits={"vip": i % 2 == 0})
        for i in range(10)
    ]
    rows = []
    for v in range(40):
        profile = profiles[v - 30] if v >= 30 else None
        visitor = f"anon-{v}"
        for day in range(4):
            if rng.random() < 0.4:
                continue
            hour = rng.uniform(0, 20)
            for slot, variants in SLOTS.items():
                variant = variants[rng.random() < 0.5]
                reason = ("segment", "vips") if variant in ("b", "y") else ("default", "")
                for repeat in range(rng.randint(1, 2)):
                    rows.append(
                        Event(
                            site=site,
                            profile=profile,
                            visitor_id=visitor,
                            kind="impression",
                            name="impression",
                            slot=slot,
                            variant=variant,
                            reason=reason[0],
                            reason_key=reason[1],
                            occurred_at=at(day, hour + repeat * 0.1),
                        )
                    )
                if rng.random() < 0.3:
                    rows.append(
                        Event(
                            site=site,
                            profile=profile,
                            visitor_id=visitor,
                            kind="click",
                            name="click",
                            slot=slot,
                            variant=variant,
                            reason=reason[0],
                            reason_key=reason[1],
                            occurred_at=at(day, hour + 0.2),
                        )
                    )
            if rng.random() < 0.35:
                rows.append(
                    Event(
                        site=site,
                        profile=profile,
                        visitor_id=visitor,
                        kind="conversion",
                        name="purchase",
                        properties={"price": rng.choice([10, 20, 35.5])},
                        occurred_at=at(day, hour + rng.uniform(0.5, 40)),
                    )
                )
    Event.objects.bulk_create(rows)
    return rows


def brute_force(events: list[Event], segment_profiles: set[int] | None = None):
    """Traffic and the purchase metrics per (day, slot, variant, reason), straight from events."""
    traffic = defaultdict(lambda: [0, set(), 0])
    first = {}
    for e in events:
        if not e.slot or (segment_profiles is not None and e.profile_id not in segment_profiles):
            continue
        dims = (e.occurred_at.date(), e.slot, e.variant, e.reason, e.reason_key)
        if e.kind == "impression":
            traffic[dims][0] += 1
            traffic[dims][1].add(e.visitor_id)
            unit = f"p{e.profile_id}" if e.profile_id else f"v{e.visitor_id}"
            first[(dims, unit)] = min(first.get((dims, unit), e.occurred_at), e.occurred_at)
        else:
            traffic[dims][2] += 1
    purchases = defaultdict(list)
    for e in events:
        if e.name == "purchase":
            unit = f"p{e.profile_id}" if e.profile_id else f"v{e.visitor_id}"
            purchases[unit].append(e)
    converted = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for (dims, unit), seen in first.items():
        window = [p for p in purchases[unit] if seen <= p.occurred_at < seen + timedelta(days=2)]
        revenue = float(sum(p.properties["price"] for p in window))
        acc = converted[dims]
        acc[0] += 1
        acc[1] += bool(window)
        acc[2] += revenue
        acc[3] += revenue * revenue
    return (
        {k: (v[0], len(v[1]), v[2]) for k, v in traffic.items()},
        {k: tuple(v) for k, v in converted.items()},
    )


def stored(segment: str = ""):
    traffic = {
        (r.day, r.slot, r.variant, r.reason, r.reason_key): (r.impressions, r.visitors, r.clicks)
        for r in VariantDay.objects.filter(segment=segment)
    }
    metrics = defaultdict(dict)
    for r in MetricDay.objects.filter(segment=segment).select_related("metric"):
        dims = (r.day, r.slot, r.variant, r.reason, r.reason_key)
        metrics[r.metric.key][dims] = (r.n, r.converted, r.total, r.total_sq)
    return traffic, metrics


@pytest.fixture
def metrics(site):
    return (
        metric_create(
            site=site,
            key="bought",
            name="Bought",
            kind="conversion",
            event="purchase",
            window_days=2,
        ),
        metric_create(
            site=site,
            key="revenue",
            name="Revenue",
            kind="sum",
            event="purchase",
            property="price",
            window_days=2,
        ),
    )


def assert_matches(expected_traffic, expected_metrics, segment=""):
    traffic, metrics = stored(segment)
    assert traffic == expected_traffic
    assert {k: v[:2] for k, v in metrics["bought"].items()} == {
        k: v[:2] for k, v in expected_metrics.items()
    }
    for dims, (n, _c, total, total_sq) in expected_metrics.items():
        got = metrics["revenue"][dims]
        assert got[0] == n and got[2] == pytest.approx(total) and got[3] == pytest.approx(total_sq)


def test_rollups_match_a_brute_force_count(site, metrics):
    events = make_events(site)
    result = rollups_rebuild(site=site, since=DAY0, until=DAY0 + timedelta(days=3))
    assert result.days == 4 and result.variant_rows > 0
    assert_matches(*brute_force(events))


def test_segment_breakdown_counts_members_only(site, metrics):
    events = make_events(site)
    vip_segment(site)
    rollups_rebuild(site=site, since=DAY0, until=DAY0 + timedelta(days=3))
    vips = set(Profile.objects.filter(site=site, traits__vip=True).values_list("pk", flat=True))
    assert len(vips) == 5
    assert_matches(*brute_force(events, vips), segment="vips")


def test_rebuild_is_idempotent(site, metrics):
    make_events(site)
    rollups_rebuild(site=site, since=DAY0, until=DAY0 + timedelta(days=3))
    first = stored()
    count = VariantDay.objects.count(), MetricDay.objects.count()
    rollups_rebuild(site=site, since=DAY0, until=DAY0 + timedelta(days=3))
    rollups_rebuild(site=site, since=DAY0 + timedelta(days=1), until=DAY0 + timedelta(days=2))
    assert stored() == first
    assert (VariantDay.objects.count(), MetricDay.objects.count()) == count


def test_late_events_are_folded_in(site, metrics):
    events = make_events(site)
    received = at(6, 0)
    Event.objects.filter(site=site).update(received_at=received)
    rollups_refresh(site=site, now=received + timedelta(minutes=5))
    assert RollupState.objects.get(site=site).watermark == received + timedelta(
        minutes=5
    ) - timedelta(seconds=30)
    assert_matches(*brute_force(events))

    # A purchase from day 1 (attributable to day-0 and day-1 exposures) arrives days later.
    exposed = Event.objects.filter(site=site, kind="impression", occurred_at__lt=at(1, 0)).first()
    late = Event.objects.create(
        site=site,
        profile=exposed.profile,
        visitor_id=exposed.visitor_id,
        kind="conversion",
        name="purchase",
        properties={"price": 99},
        occurred_at=exposed.occurred_at + timedelta(hours=30),
    )
    Event.objects.filter(pk=late.pk).update(received_at=at(9, 0))
    before = stored()[1]["revenue"]
    rollups_refresh(site=site, now=at(9, 1))
    after = stored()[1]["revenue"]
    assert after != before
    assert_matches(*brute_force([*events, late]))
    # A refresh with nothing new changes nothing.
    rollups_refresh(site=site, now=at(9, 2))
    assert stored()[1]["revenue"] == after


def test_refresh_records_segment_sizes(site):
    Profile.objects.create(site=site, user_id="u1", traits={"vip": True})
    Profile.objects.create(site=site, user_id="u2", traits={"vip": False})
    vip_segment(site)
    rollups_refresh(site=site, now=at(3, 0))
    assert list(SegmentSizeDay.objects.values_list("day", "segment", "size")) == [
        (at(3, 0).date(), "vips", 1)
    ]


def test_rebuild_command(site, metrics, capsys):
    make_events(site)
    call_command("rebuild_rollups", site=site.slug, since="2026-11-02", until="2026-11-05")
    assert "4 days rebuilt" in capsys.readouterr().out
    assert VariantDay.objects.filter(site=site).exists()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No site"):
        call_command("rebuild_rollups", site="nope")
    with pytest.raises(CommandError, match="not a date"):
        call_command("rebuild_rollups", "--site", site.slug, "--since", "yesterday")


def test_other_sites_events_never_count(site, other_site, metrics):
    make_events(other_site, seed=2)
    rollups_rebuild(site=site, since=DAY0, until=DAY0 + timedelta(days=3))
    assert not VariantDay.objects.filter(site=site).exists()
