"""A small simulated population with known conversion rates per arm, for the policy tests."""

from __future__ import annotations

import numpy as np

from experiments.policy.features import FeatureEncoder, fit_encoder
from experiments.policy.logs import Logs

ARMS = ("a", "b", "c", "d")
DEVICES = ("mobile", "desktop", "tablet")
SPEC = [
    {"kind": "category", "field": "context.device_type", "top_k": 5},
    {"kind": "hour", "field": "context.local_time"},
    {"kind": "number", "field": "profile.age"},
]


def visitors(rng: np.random.Generator, n: int) -> list[dict]:
    devices = rng.choice(len(DEVICES), size=n, p=[0.5, 0.35, 0.15])
    hours = rng.integers(0, 24, size=n)
    ages = rng.integers(18, 70, size=n)
    docs = []
    for i in range(n):
        context = {
            "device_type": DEVICES[devices[i]],
            "local_time": f"2026-03-02T{hours[i]:02d}:15:00+01:00",
        }
        profile = {"age": int(ages[i])} if i % 10 else {}  # some visitors have no age
        docs.append({"visitor": {"id": f"v{i}"}, "profile": profile, "context": context})
    return docs


def true_rates(docs: list[dict]) -> np.ndarray:
    """(n, 4): mobile in the evening likes b, desktop likes c, otherwise a; d is poor."""
    rates = np.empty((len(docs), len(ARMS)))
    for i, doc in enumerate(docs):
        device = doc["context"]["device_type"]
        hour = int(doc["context"]["local_time"][11:13])
        r = np.array([0.06, 0.04, 0.04, 0.03])
        if device == "mobile" and hour >= 18:
            r = np.array([0.04, 0.11, 0.04, 0.03])
        elif device == "desktop":
            r = np.array([0.05, 0.04, 0.10, 0.03])
        rates[i] = r
    return rates


def encoder_for(docs: list[dict]) -> FeatureEncoder:
    return fit_encoder(SPEC, docs)


def log_uniform(
    rng: np.random.Generator, n: int, *, encoder: FeatureEncoder | None = None
) -> tuple[Logs, np.ndarray, FeatureEncoder]:
    """n decisions under a uniform policy: (logs, true rates (n, 4), encoder)."""
    docs = visitors(rng, n)
    encoder = encoder or encoder_for(docs)
    rows = np.array([encoder.encode(d) for d in docs])
    rates = true_rates(docs)
    actions = rng.integers(0, len(ARMS), size=n)
    rewards = (rng.random(n) < rates[np.arange(n), actions]).astype(float)
    logs = Logs(
        arms=ARMS,
        rows=rows,
        actions=actions,
        propensities=np.full(n, 1 / len(ARMS)),
        rewards=rewards,
        units=tuple(d["visitor"]["id"] for d in docs),
    )
    return logs, rates, encoder


def log_under(
    policy, rng: np.random.Generator, n: int, *, offset: int = 0
) -> tuple[Logs, np.ndarray]:
    """n decisions drawn from `policy`'s leaf probabilities: (logs, true rates (n, 4))."""
    from experiments.policy.ope import target_probabilities

    docs = visitors(rng, n)
    for i, doc in enumerate(docs):
        doc["visitor"]["id"] = f"v{offset + i}"
    rows = np.array([policy.encoder.encode(d) for d in docs])
    rates = true_rates(docs)
    probe = Logs(
        arms=policy.arms,
        rows=rows,
        actions=np.zeros(n, dtype=int),
        propensities=np.ones(n),
        rewards=np.zeros(n),
    )
    probs = target_probabilities(policy, probe)
    cumulative = probs.cumsum(axis=1)
    actions = (rng.random(n)[:, None] >= cumulative).sum(axis=1).clip(0, len(ARMS) - 1)
    rewards = (rng.random(n) < rates[np.arange(n), actions]).astype(float)
    logs = Logs(
        arms=policy.arms,
        rows=rows,
        actions=actions,
        propensities=probs[np.arange(n), actions],
        rewards=rewards,
        units=tuple(d["visitor"]["id"] for d in docs),
    )
    return logs, rates
