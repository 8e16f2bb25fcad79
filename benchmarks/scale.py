"""Scale: snapshot builds and `explain` at 1,000 / 5,000 / 10,000 segments (linear?), explain
beside its floor (the RuleSet pass alone), and the per-process snapshot cache's memory for
1,000 sites of 100 rules against its configured bound.

Builds are timed two ways, interleaved: cold (the process's compiled rules and generated
code forgotten first: a worker's first build of the site, or one after eviction) and warm
(a rebuild while the site's previous snapshot is still held, as after a publish that
changed content but no segment: every rule is reused). The first explain of a snapshot
compiles its RuleSet, timed once per size.

Sites `bench-scale-<n>` hold n active segments (benchmarks.seed.segment_tree's ten shapes,
references included) created once with bulk_create and reused. BENCH_SCALE_SIZES
(default "1000,5000,10000"), BENCH_SCALE_ROUNDS (default 3).
"""

from __future__ import annotations

import dataclasses
import os
import time
import tracemalloc
from typing import Any

SIZES = [int(x) for x in os.environ.get("BENCH_SCALE_SIZES", "1000,5000,10000").split(",")]
ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "3"))
SITES = int(os.environ.get("BENCH_SCALE_SITES", "1000"))


def scale_site(n: int) -> int:
    from benchmarks.seed import segment_tree
    from segments.models import Segment, SegmentStatus
    from tenancy.models import Site
    from tenancy.services import site_create

    site = Site.objects.filter(slug=f"bench-scale-{n}").first()
    if site is None:
        site = site_create(name=f"Scale {n}", slug=f"bench-scale-{n}", timezone_name="UTC")
    if Segment.objects.filter(site=site).count() != n:
        Segment.objects.filter(site=site).delete()
        Segment.objects.bulk_create(
            [
                Segment(
                    site=site,
                    key=f"seg-{i:03d}",
                    name=f"Segment {i}",
                    criteria=segment_tree(i),
                    status=SegmentStatus.ACTIVE,
                )
                for i in range(n)
            ],
            batch_size=1000,
        )
    return site.pk


def bench_scale() -> dict[str, Any]:
    from django.apps import apps

    if not apps.ready:  # BENCH_ONLY=scale: the delivery step, which sets Django up, was skipped
        from benchmarks import delivery

        delivery.setup()
    from django.utils import timezone

    from benchmarks.seed import visitor_documents
    from benchmarks.stats import interleaved
    from delivery import engine
    from delivery.snapshot import snapshot_build
    from segments.criteria import compile_cache_clear

    print("== Scale: snapshot build and explain by number of segments ==")
    docs = visitor_documents(50, seed=5)
    now = timezone.now()
    out: dict[str, Any] = {}
    for n in SIZES:
        site_id = scale_site(n)
        snapshot = snapshot_build(site_id)
        assert len(snapshot.rules) == n and not snapshot.broken_segments, snapshot.broken_segments
        t0 = time.perf_counter()
        rule_set = snapshot.active_rule_set
        rule_set_ms = (time.perf_counter() - t0) * 1000
        assert rule_set is not None
        prepared = [engine.prepare_document(dict(d)) for d in docs]

        def explain(snapshot=snapshot, prepared=prepared) -> None:
            for doc in prepared:
                engine.decide(snapshot, doc, now=now, explain=True)

        def floor(rule_set=rule_set, prepared=prepared) -> None:
            for doc in prepared:
                rule_set.matching(doc, now)

        def rule_by_rule(snapshot=snapshot, prepared=prepared) -> None:
            for doc in prepared:
                for key in snapshot.active_segments:
                    engine._rule_hit(snapshot.rules, key, doc, now)

        for doc in prepared:  # the same answers: explain lists exactly the RuleSet's matches
            segs = engine.decide(snapshot, doc, now=now, explain=True)["explain"]["segments"]
            assert segs == sorted(rule_set.matching(doc, now))
        held: list[Any] = [snapshot]
        dropped: list[Any] = []

        def cold(site_id=site_id, held=held, dropped=dropped) -> None:
            compile_cache_clear()  # nothing compiled of the site's in the process any more
            held.append(snapshot_build(site_id))
            dropped.append(held.pop(0))  # freed outside the timed builds (`release`)

        def warm(site_id=site_id, held=held, dropped=dropped) -> None:
            held.append(snapshot_build(site_id))  # the previous one still held meanwhile
            dropped.append(held.pop(0))

        def release(dropped=dropped) -> None:
            dropped.clear()

        build = interleaved({"cold": cold, "warm": warm, "release": release}, ROUNDS)
        per = interleaved(
            {"explain": explain, "ruleset": floor, "rule_by_rule": rule_by_rule}, ROUNDS
        )
        ms = {k: f.median * 1000 / len(prepared) for k, f in per.items()}
        b, w = build["cold"], build["warm"]
        ratio = ms["explain"] / ms["ruleset"]
        print(
            f"  {n:>6,} segments: snapshot build cold {b.median * 1000:,.0f} ms "
            f"[{b.low * 1000:,.0f}..{b.high * 1000:,.0f}] ({b.median * 1e6 / n:.0f} µs/segment), "
            f"warm {w.median * 1000:,.0f} ms [{w.low * 1000:,.0f}..{w.high * 1000:,.0f}]; "
            f"first explain compiles the RuleSet in {rule_set_ms:,.0f} ms; "
            f"explain {ms['explain']:.2f} ms vs RuleSet floor {ms['ruleset']:.2f} ms = "
            f"{ratio:.2f}x (rule by rule {ms['rule_by_rule']:.2f} ms)"
        )
        out[n] = {
            "build_ms": b.median * 1000,
            "warm_build_ms": w.median * 1000,
            "rule_set_ms": rule_set_ms,
            "explain_ms": ms["explain"],
            "ratio": ratio,
        }
    out["memory"] = bench_memory()
    return out


def bench_memory() -> dict[str, Any]:
    """One 100-rule snapshot measured with tracemalloc beside the cache's estimate, then
    SITES sites' snapshots installed into the bounded cache."""
    from django.conf import settings

    from delivery import snapshot as snapshots
    from tenancy.models import Site

    site_id = Site.objects.get(slug="bench-delivery").pk
    snapshots.snapshot_build(site_id)  # warm imports and caches
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    built = snapshots.snapshot_build(site_id)
    built.rules  # noqa: B018 - keep it alive while measuring
    measured = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    estimate = snapshots.snapshot_size(built)
    snapshots.snapshot_forget()
    for i in range(SITES):  # distinct snapshots (their own slot tables and fragments)
        snapshots.snapshot_install(dataclasses.replace(built, site_id=1_000_000 + i))
    stats = snapshots.snapshot_cache_stats()
    bound = settings.PERSONALIZE_SNAPSHOT_CACHE_MB * 1024 * 1024
    print(
        f"  snapshot of 100 rules + 30 placements: {measured / 1024:,.0f} KB measured "
        f"(tracemalloc), {estimate / 1024:,.0f} KB estimated by the cache"
    )
    print(
        f"  {SITES:,} sites installed: {stats['sites']:,} kept, "
        f"~{stats['bytes'] / 1024 / 1024:,.0f} MB estimated, bound "
        f"{settings.PERSONALIZE_SNAPSHOT_CACHE_MB} MB / "
        f"{settings.PERSONALIZE_SNAPSHOT_CACHE_SITES:,} sites "
        f"(SNAPSHOT_CACHE_MB / SNAPSHOT_CACHE_SITES)"
    )
    snapshots.snapshot_forget()
    return {
        "measured_kb": measured / 1024,
        "estimate_kb": estimate / 1024,
        "kept": stats["sites"],
        "bytes": stats["bytes"],
        "bound": bound,
        "within": stats["bytes"] <= bound,
    }
