"""An optimization of the `home_hero` placement between its variants `b` and `c`, reading the
visitor's device, and helpers that write logged decisions and goal events as delivery and
the event API would: PolicyDecision and Event rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from experiments.models import PolicyDecision
from experiments.services.optimization import optimization_create
from segments.models import Event
from tests.experiments.conftest import variant

FEATURES = [{"kind": "category", "field": "context.device_type", "top_k": 4}]
DEVICES = ("mobile", "desktop")


def make_optimization(site, placement, metric, *, key="hero-opt", **fields):
    return optimization_create(
        site=site,
        key=key,
        name=key.replace("-", " ").title(),
        placement=placement,
        goal=metric,
        arms=[
            {"key": "b", "content_variant": variant(placement, "b")},
            {"key": "c", "content_variant": variant(placement, "c")},
        ],
        **{"features": FEATURES, "min_leaf": 20, "retrain_every": 500, **fields},
    )


@pytest.fixture
def optimization(site, placement, metric):
    return make_optimization(site, placement, metric)


def log_decisions(
    optimization,
    *,
    n: int,
    start: datetime,
    rates: dict[tuple[str, str], float],
    seed: int = 0,
    prefix: str = "u",
    version: int = 0,
    units=None,
    devices: tuple[str, ...] = DEVICES,
) -> None:
    """n uniform decisions (propensity 1/2, one unit each) over an hour from `start`, each
    converting (a `signup` event an hour later) with probability rates[(device, arm)] (0.1 for
    a device the rates do not name); the device is drawn uniformly from `devices`."""
    rng = np.random.default_rng(seed)
    units = list(units) if units is not None else [f"{prefix}{i}" for i in range(n)]
    decisions, events = [], []
    for i, unit in enumerate(units[:n]):
        device = devices[int(rng.integers(0, len(devices)))]
        arm = ("b", "c")[int(rng.integers(0, 2))]
        at = start + timedelta(seconds=i)
        decisions.append(
            PolicyDecision(
                site_id=optimization.site_id,
                optimization=optimization,
                version=version,
                unit_id=unit,
                arm_key=arm,
                propensity=0.5,
                features={"context.device_type": device},
                decided_at=at,
            )
        )
        if rng.random() < rates.get((device, arm), 0.1):
            events.append(
                Event(
                    site_id=optimization.site_id,
                    visitor_id=unit,
                    name="signup",
                    occurred_at=at + timedelta(hours=1),
                )
            )
    PolicyDecision.objects.bulk_create(decisions)
    Event.objects.bulk_create(events)


# Mobile visitors convert on b, desktop visitors on c.
TRUTH = {
    ("mobile", "b"): 0.30,
    ("mobile", "c"): 0.05,
    ("desktop", "b"): 0.05,
    ("desktop", "c"): 0.30,
}
REVERSED = {(device, arm): TRUTH[(device, "c" if arm == "b" else "b")] for device, arm in TRUTH}
