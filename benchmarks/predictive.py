"""Predictive traits benchmark (`make bench`; docs/predictive.md), on the migrated database
of the delivery benchmark.

Then the demo's own population (`seed_demo` on a fresh demo site) and its `purchase_14d`
model: held-out AUC beside the baseline's.

A simulated population with known structure (BENCH_PREDICTIVE_PROFILES people, 20,000 by
default): each person views pages at their own rate, 40 % stop coming at some point of the
90 days of history, and buys at a rate that grows with their activity and triples for VIPs
(a boolean trait in the field catalog). A "purchase within 14 days" model is trained through
the real service (time split: train at now - 28 days, held out at now - 14 days) and its
held-out AUC printed beside the recency-frequency baseline's AUC on the same people (and
their ratio), with the median training time over BENCH_PREDICTIVE_ROUNDS runs and the time
to write everybody's score.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
from datetime import timedelta
from typing import Any

PROFILES = int(os.environ.get("BENCH_PREDICTIVE_PROFILES", "20000"))
ROUNDS = int(os.environ.get("BENCH_PREDICTIVE_ROUNDS", "3"))
HISTORY_DAYS = 90
SEED = 20261201


def setup() -> Any:
    from benchmarks.loadgen import ensure_database
    from benchmarks.settings import delivery_database_url

    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    ensure_database(delivery_database_url())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from tenancy.models import Site
    from tenancy.services import site_create

    Site.objects.filter(slug="bench-predictive").delete()  # a fresh population every run
    return site_create(name="Bench predictive", slug="bench-predictive")


def _times(rng: random.Random, rate: float, start: Any, end: Any) -> list[Any]:
    out, at = [], start
    while rate > 0:
        at = at + timedelta(days=rng.expovariate(rate))
        if at >= end:
            return out
        out.append(at)
    return out


def simulate(site: Any, now: Any) -> int:
    from segments.models import Event, Field, Profile

    rng = random.Random(SEED)
    Field.objects.get_or_create(
        site=site, path="profile.vip", defaults={"type": "boolean", "label": "VIP"}
    )
    Profile.objects.bulk_create(
        [
            Profile(
                site=site,
                user_id=f"bp{i:06d}",
                traits={"vip": rng.random() < 0.3},
                first_seen=now - timedelta(days=rng.uniform(20, 400)),
                visit_count=rng.randint(1, 30),
            )
            for i in range(PROFILES)
        ],
        batch_size=2000,
    )
    rows = []
    for pk, user_id, traits, first_seen in Profile.objects.filter(site=site).values_list(
        "pk", "user_id", "traits", "first_seen"
    ):
        activity = rng.lognormvariate(math.log(0.12), 0.7)
        buy_rate = activity * 0.25 * (3.0 if traits["vip"] else 1.0)
        start = max(first_seen, now - timedelta(days=HISTORY_DAYS))
        stop = now - timedelta(days=rng.uniform(0, HISTORY_DAYS)) if rng.random() < 0.4 else now
        for name, rate in (("page_view", activity), ("purchase", buy_rate)):
            rows += [
                Event(site=site, profile_id=pk, visitor_id=user_id, name=name, occurred_at=at)
                for at in _times(rng, rate, start, stop)
            ]
    Event.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def main() -> dict[str, Any]:
    print("== Predictive traits ==")
    site = setup()
    from django.utils import timezone

    from analytics.predictive.services import (
        predictive_model_create,
        predictive_model_enable,
        predictive_model_train,
        predictive_scores_write,
    )

    now = timezone.now()
    t0 = time.perf_counter()
    events = simulate(site, now)
    print(f"population: {PROFILES} profiles, {events} events ({time.perf_counter() - t0:.1f} s)")
    model = predictive_model_create(
        site=site, name="purchase_14d", goal_event="purchase", horizon_days=14
    )
    seconds, version = [], None
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        version = predictive_model_train(model=model, now=now).version
        seconds.append(time.perf_counter() - t0)
    assert version is not None and version.auc is not None and version.baseline_auc
    predictive_model_enable(model=model)
    t0 = time.perf_counter()
    scored = predictive_scores_write(model=model, now=now)
    scoring = time.perf_counter() - t0
    result = {
        "auc": version.auc,
        "baseline_auc": version.baseline_auc,
        "auc_ratio": version.auc / version.baseline_auc,
        "train_seconds": statistics.median(seconds),
        "score_seconds": scoring,
        "train_size": version.train_size,
        "test_size": version.test_size,
        "test_positives": version.test_positives,
    }
    print(
        f"held-out AUC {version.auc:.3f} vs recency-frequency baseline "
        f"{version.baseline_auc:.3f} (ratio {result['auc_ratio']:.3f}) on "
        f"{version.test_size} people ({version.test_positives} positives)"
    )
    print(
        f"training: median {result['train_seconds']:.2f} s over {ROUNDS} runs "
        f"({version.train_size} training examples); scoring {scored} profiles: {scoring:.2f} s"
    )
    result["demo"] = demo_population()
    return result


def demo_population() -> dict[str, Any]:
    """The demo's own people (`seed_demo`: their purchase history, visits and traits) and
    its `purchase_14d` model, trained by the demo seeding: held-out AUC beside the baseline."""
    from django.core.management import call_command

    from analytics.models import PredictiveModel, PredictiveModelVersion
    from tenancy.models import Site

    Site.objects.filter(slug="demo").delete()  # a fresh demo every run
    t0 = time.perf_counter()
    call_command("seed_demo", "--no-admin", stdout=open(os.devnull, "w"))  # noqa: SIM115
    model = PredictiveModel.objects.get(site__slug="demo", name="purchase_14d")
    version = PredictiveModelVersion.objects.filter(model=model).order_by("-pk").first()
    assert version is not None and version.auc is not None and version.baseline_auc
    print(
        f"demo population (seed_demo, {time.perf_counter() - t0:.0f} s): purchase_14d held-out "
        f"AUC {version.auc:.3f} vs recency-frequency baseline {version.baseline_auc:.3f} "
        f"(ratio {version.auc / version.baseline_auc:.3f}) on {version.test_size} people "
        f"({version.test_positives} positives)"
    )
    return {
        "auc": version.auc,
        "baseline_auc": version.baseline_auc,
        "auc_ratio": version.auc / version.baseline_auc,
        "test_size": version.test_size,
        "test_positives": version.test_positives,
    }


if __name__ == "__main__":
    main()
