"""Behavioural counters benchmarks (`make bench`, step "counters"; analytics issue 13), in
process on the same migrated PostgreSQL database as delivery's:

1. decide latency for a known visitor whose site has 20 active behavioural segments (20
   distinct event conditions: names, property filters, thresholds, windows), counters
   ready, as a ratio to the anonymous decide of the same site (target <= 2x); beside it the
   same known decide with counters off (the recent-events scan it replaces). The whole
   service path (`decide_for_visitor`: validation done, enrichment, the one profile query,
   the engine), medians of interleaved rounds.
2. events ingested per second by the ingest service (`events_ingest`, batches of
   BENCH_COUNTERS_BATCH events of known people, half of them counted by some condition)
   with counters on vs off (`counters_ingest` replaced by a no-op), interleaved rounds:
   medians and their ratio (target >= 80 %).

Knobs: BENCH_COUNTERS_PROFILES (default 2,000 known people, 150 events each: more than
the 100 recent events a profile keeps), BENCH_COUNTERS_ROUNDS (5), BENCH_COUNTERS_DECIDES
(2,000 per round), BENCH_COUNTERS_BATCHES (8 per round), BENCH_COUNTERS_BATCH (500, the
batch size of the other ingest figures).
No timing is asserted anywhere: figures are printed.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

PROFILES = int(os.environ.get("BENCH_COUNTERS_PROFILES", "2000"))
ROUNDS = int(os.environ.get("BENCH_COUNTERS_ROUNDS", "5"))
DECIDES = int(os.environ.get("BENCH_COUNTERS_DECIDES", "2000"))
BATCHES = int(os.environ.get("BENCH_COUNTERS_BATCHES", "8"))
BATCH = int(os.environ.get("BENCH_COUNTERS_BATCH", "500"))
EVENTS_PER_PROFILE = 150
SLUG = "bench-counters"
NAMES = ("purchase", "view", "add_to_cart", "search", "signup")
CATEGORIES = ("shoes", "books", "games", "food")


def _conditions() -> list[dict[str, Any]]:
    """20 distinct event conditions, as marketers write them."""
    out = []
    for i in range(20):
        node: dict[str, Any] = {
            "event": NAMES[i % len(NAMES)],
            "count": {"op": "gte", "value": 1 + i % 4},
            "within_days": (7, 30, 90, 365)[i % 4],
        }
        if i % 2:
            node["where"] = {
                "all": [{"field": "properties.category", "op": "eq", "value": CATEGORIES[i % 4]}]
            }
        if i % 5 == 4:
            node["where"] = {"all": [{"field": "properties.price", "op": "gt", "value": 10 * i}]}
        out.append(node)
    return out


def setup() -> Any:
    from benchmarks.loadgen import ensure_database
    from benchmarks.settings import delivery_database_url

    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    ensure_database(delivery_database_url())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from content.services.drafts import content_variant_create, placement_create
    from content.services.publishing import slot_publish
    from segments.models import Profile, Segment, SegmentStatus
    from segments.services.counters import counter_backfill
    from segments.services.segments import segment_create
    from tenancy.models import Site
    from tenancy.services import site_create

    site = Site.objects.filter(slug=SLUG).first()
    if site is not None and Profile.objects.filter(site=site).count() == PROFILES:
        print(f"counters data: {PROFILES:,} people (cached)")
        return site
    if site is not None:
        site.delete()
    site = site_create(name="Bench counters", slug=SLUG)
    offer = placement_create(site=site, key="offer", name="Offer", kind="text")
    for i, node in enumerate(_conditions()):
        segment = segment_create(
            site=site,
            key=f"behaviour-{i}",
            name=f"Behaviour {i}",
            criteria={"all": [node]},
            status=SegmentStatus.ACTIVE,
        )
        content_variant_create(
            placement=offer, key=f"v{i}", name=f"V{i}", body=f"Offer {i}", segment=segment
        )
    content_variant_create(placement=offer, key="plain", name="Plain", body="Hello")
    slot_publish(slot=offer)
    assert Segment.objects.filter(site=site, status=SegmentStatus.ACTIVE).count() == 20
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    rng = random.Random(13)
    from delivery.services import events_ingest
    from delivery.validation import validate_events

    for p in range(PROFILES):
        events = [
            {
                "name": rng.choice(NAMES),
                "properties": {"category": rng.choice(CATEGORIES), "price": rng.randint(1, 300)},
                "timestamp": (now - timedelta(minutes=rng.randint(1, 400 * 1440))).isoformat(),
            }
            for _ in range(EVENTS_PER_PROFILE)
        ]
        body = {"visitor": {"id": f"anon-{p}", "user_id": f"u-{p}"}, "events": events}
        events_ingest(site_id=site.pk, batch=validate_events(body, now=now), caller="server")
    from segments.models import CounterSpec

    for spec in CounterSpec.objects.filter(site=site):
        counter_backfill(spec_id=spec.pk)
    print(
        f"counters data: {PROFILES:,} people x {EVENTS_PER_PROFILE} events through the ingest "
        f"service, {CounterSpec.objects.filter(site=site).count()} specs backfilled, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return site


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def bench_decide(site: Any) -> dict[str, float]:
    from delivery import counters as counters_module
    from delivery.selectors import profile_for_decide
    from delivery.services import decide_for_visitor
    from delivery.validation import validate_decide

    rng = random.Random(5)
    anon = [validate_decide({"visitor": {"id": f"anon-x{i}"}}) for i in range(200)]
    known = [
        validate_decide({"visitor": {"id": f"anon-{p}", "user_id": f"u-{p}"}})
        for p in (rng.randrange(PROFILES) for _ in range(200))
    ]
    no_plan = counters_module.CounterPlan(ready=(), covers_all=False)

    def run(bodies: list[Any]) -> float:
        t0 = time.perf_counter()
        for i in range(DECIDES):
            decide_for_visitor(site_id=site.pk, data=bodies[i % len(bodies)], caller="server")
        return (time.perf_counter() - t0) / DECIDES * 1e6

    def query() -> float:
        """What a known decide adds to an anonymous one at the least: its one profile
        query, as decide runs it once every counter is ready (no recent events)."""
        t0 = time.perf_counter()
        for i in range(DECIDES):
            profile_for_decide(
                site_id=site.pk,
                user_id=known[i % len(known)].user_id,
                with_events=False,
                with_counters=True,
            )
        return (time.perf_counter() - t0) / DECIDES * 1e6

    run(anon), run(known)  # warm: snapshot, plan, connections
    samples: dict[str, list[float]] = {
        "anonymous": [],
        "known": [],
        "known, scan": [],
        "query": [],
    }
    for _ in range(ROUNDS):
        samples["anonymous"].append(run(anon))
        samples["known"].append(run(known))
        with mock.patch("delivery.services.counter_plan", return_value=no_plan):
            samples["known, scan"].append(run(known))
        samples["query"].append(query())
    med = {k: _median(v) for k, v in samples.items()}
    print(
        f"decide (service path, in process), 20 behavioural segments, median of {ROUNDS} rounds "
        f"x {DECIDES}: anonymous {med['anonymous']:.0f} µs, known with counters "
        f"{med['known']:.0f} µs, known scanning recent events {med['known, scan']:.0f} µs; "
        f"the profile query alone {med['query']:.0f} µs"
    )
    ratio = med["known"] / med["anonymous"]
    floor = med["anonymous"] + med["query"]
    print(
        f"  known / anonymous: {ratio:.2f}x; known / (anonymous + its one query): "
        f"{med['known'] / floor:.2f}x (the caller's view, over HTTP, is in delivery's "
        "'known / anonymous decide' figure: this site's 20 behavioural segments are there too)"
    )
    return {
        "anonymous_us": med["anonymous"],
        "known_us": med["known"],
        "known_scan_us": med["known, scan"],
        "query_us": med["query"],
        "ratio": ratio,
        "ratio_to_floor": med["known"] / floor,
    }


def bench_ingest(site: Any) -> dict[str, float]:
    from delivery.services import events_ingest
    from delivery.validation import validate_events

    rng = random.Random(17)
    now = datetime.now(UTC)

    def batches() -> list[Any]:
        run = uuid.uuid4().hex[:8]
        out = []
        for b in range(BATCHES):
            p = rng.randrange(PROFILES)
            events = [
                {
                    "id": f"{run}-{b}-{i}",
                    # half counted by some condition, half not (impressions, clicks)
                    "name": rng.choice(NAMES) if i % 2 else "impression",
                    "kind": "custom" if i % 2 else "impression",
                    "properties": {"category": rng.choice(CATEGORIES), "price": i},
                }
                for i in range(BATCH)
            ]
            body = {"visitor": {"id": f"anon-{p}", "user_id": f"u-{p}"}, "events": events}
            out.append(validate_events(body, now=now))
        return out

    def run() -> float:
        todo = batches()
        t0 = time.perf_counter()
        for batch in todo:
            events_ingest(site_id=site.pk, batch=batch, caller="server")
        return BATCHES * BATCH / (time.perf_counter() - t0)

    def off() -> float:
        with mock.patch("delivery.services.counters_ingest", return_value=0):
            return run()

    run(), off()  # warm
    on_s, off_s = [], []
    for _ in range(ROUNDS):
        on_s.append(run())
        off_s.append(off())
    on, off_ = _median(on_s), _median(off_s)
    print(
        f"ingest service, batches of {BATCH} (half counted), median of {ROUNDS} rounds: "
        f"counters on {on:,.0f} events/s, off {off_:,.0f} events/s: {on / off_:.0%} "
        "(target >= 80 %)"
    )
    return {"on": on, "off": off_, "ratio": on / off_}


def main() -> dict[str, Any]:
    print("== Behavioural counters (issue 13) ==")
    site = setup()
    return {"decide": bench_decide(site), "ingest": bench_ingest(site)}


if __name__ == "__main__":
    main()
