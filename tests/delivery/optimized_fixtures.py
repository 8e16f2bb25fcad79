"""An optimized banner for the delivery tests: three arms over the banner's published
variants, a live model version whose tree splits on the device, then the local hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from analytics.services.metrics import metric_create
from content.models import ContentVariant
from delivery.snapshot import snapshot_forget
from experiments.models import Optimization, OptimizationArm, PolicyVersion
from experiments.policy.compiled import CompiledPolicy
from experiments.policy.features import FeatureEncoder, parse_feature_spec
from tenancy.services import site_config_bump

KEY = "banner-opt"
ARMS = {"adult": "adult-banner", "default": "banner-default", "half": "half-banner"}
FEATURES = [
    {"kind": "category", "field": "context.device_type", "top_k": 5},
    {"kind": "number", "field": "profile.age"},
    {"kind": "category", "field": "profile.city"},
    {"kind": "hour", "field": "context.local_time"},
    {"kind": "segment", "segment": "detroit"},
    {"kind": "frequency", "event": "purchase", "within_days": 30},
]
# Columns: 0 device=mobile, 1 device=desktop, 2 device=__other__, 3 age, 4 city=__other__,
# 5 hour, 6 segment:detroit, 7 frequency of purchases.
LEAF_PROBABILITIES = (
    (0.6, 0.3, 0.1),  # leaf 0: not mobile
    (0.1, 0.2, 0.7),  # leaf 1: mobile, morning (hour <= 11)
    (0.25, 0.5, 0.25),  # leaf 2: mobile, afternoon or evening
)
MOBILE_MORNING = {"device_type": "mobile", "local_time": "2026-11-30T09:15:00-05:00"}
MOBILE_EVENING = {"device_type": "mobile", "local_time": "2026-11-30T19:15:00-05:00"}
DESKTOP = {"device_type": "desktop", "local_time": "2026-11-30T09:15:00-05:00"}


def bump(site) -> None:
    """A configuration change, seen by this process at once (not after CHECK_INTERVAL)."""
    site_config_bump(site_id=site.pk)
    snapshot_forget(site.pk)


def model(*, version: str = "v1", probabilities=LEAF_PROBABILITIES, seed: str = KEY):
    encoder = FeatureEncoder(
        features=parse_feature_spec(FEATURES),
        vocabularies=(("mobile", "desktop"), (), (), (), (), ()),
    )
    return CompiledPolicy(
        version=version,
        seed=seed,
        arms=tuple(ARMS),
        encoder=encoder,
        feature=(0, -1, 5, -1, -1),
        threshold=(0.5, 0.0, 11.5, 0.0, 0.0),
        left=(1, -1, 3, -1, -1),
        right=(2, -1, 4, -1, -1),
        missing_left=(True, False, True, False, False),
        leaf=(-1, 0, -1, 1, 2),
        probabilities=tuple(probabilities),
        floor=0.1,
    )


def make_optimization(
    site,
    placement,
    *,
    key: str = KEY,
    live: CompiledPolicy | dict[str, Any] | None = None,
    number: int = 1,
    holdout_share: float = 0.1,
    status: str = "running",
    arms: dict[str, str] = ARMS,
    features: list[dict[str, Any]] = FEATURES,
) -> Optimization:
    metric = metric_create(
        site=site, key=f"{key}-goal", name="Bought", kind="conversion", event="purchase"
    )
    optimization = Optimization.objects.create(
        site=site,
        key=key,
        name=key,
        placement=placement,
        goal=metric,
        features=features,
        holdout_share=holdout_share,
        status=status,
        started_at=timezone.now(),
    )
    for arm, variant in arms.items():
        OptimizationArm.objects.create(
            optimization=optimization,
            key=arm,
            content_variant=ContentVariant.objects.get(placement=placement, key=variant),
        )
    if live is not None:
        promote(optimization, live, number=number)
    bump(site)
    return optimization


def promote(optimization: Optimization, live, *, number: int) -> PolicyVersion:
    """A new live model version (what the training service does), then the snapshot bump."""
    now = timezone.now()
    version = PolicyVersion.objects.create(
        optimization=optimization,
        number=number,
        status="live",
        trained_at=now,
        window_start=now - timedelta(days=7),
        window_end=now,
        features=FEATURES,
        policy=live.to_json() if isinstance(live, CompiledPolicy) else live,
        promoted_at=now,
    )
    optimization.live_version = version
    optimization.save()
    bump(optimization.site)
    return version
