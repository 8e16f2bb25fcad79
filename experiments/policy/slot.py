"""An optimization as delivery serves it: the slot it optimizes, the compiled policy of its
live model version (or the uniform policy it starts with, version 0), the holdout share and
which variant each arm serves. Pure: no Django, no numpy (delivery's snapshot compiles one
per running optimization from the stored rows; the engine serves it with `serve.decide`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from experiments.policy.compiled import CompiledPolicy, single_leaf_policy
from experiments.policy.features import Feature, FeatureEncoder, fit_encoder

UNIFORM_VERSION = 0  # the version number logged for the uniform start policy


@dataclass(frozen=True, slots=True)
class CompiledOptimization:
    key: str
    slot_kind: Literal["placement", "screen"]
    slot_key: str
    policy: CompiledPolicy
    version: int  # the live PolicyVersion's number; 0 for the uniform start policy
    holdout_share: float  # random-allocation holdout, in [0, 0.5]
    variants: Mapping[str, str]  # arm key -> variant key it serves

    @property
    def features(self) -> tuple[Feature, ...]:
        return self.policy.encoder.features


def uniform_encoder(features: Any) -> FeatureEncoder:
    """The encoder of the uniform policy: the declared features with empty vocabularies
    (every category value encodes as `__other__`, which a single leaf never reads). An
    empty declaration reads nothing."""
    if not features:
        return FeatureEncoder(features=(), vocabularies=())
    return fit_encoder(features, [])


def compile_optimization(
    *,
    key: str,
    slot_kind: Literal["placement", "screen"],
    slot_key: str,
    variants: Mapping[str, str],
    features: Any,
    seed: str,
    holdout_share: float,
    version: int = UNIFORM_VERSION,
    policy: Mapping[str, Any] | None = None,
) -> CompiledOptimization:
    """The optimization as served: the live model's policy (`policy`, `CompiledPolicy.to_json`
    output, with its `version` number), else the uniform policy over every eligible arm
    (sorted by key). Raises ValueError when it cannot be served: fewer than two arms, a
    feature declaration or stored policy that does not load, a model serving an arm that
    is no longer eligible, a holdout share outside [0, 0.5]."""
    if (
        isinstance(holdout_share, bool)
        or not isinstance(holdout_share, int | float)
        or not math.isfinite(holdout_share)
        or not 0 <= holdout_share <= 0.5
    ):
        raise ValueError(f"holdout share {holdout_share!r} is not in [0, 0.5]")
    if policy is None:
        compiled = single_leaf_policy(
            arms=sorted(variants), encoder=uniform_encoder(features), seed=seed or key
        )
        version = UNIFORM_VERSION
    else:
        try:
            compiled = CompiledPolicy.from_json(policy)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise ValueError(f"model version {version} does not load: {error}") from error
        missing = [arm for arm in compiled.arms if arm not in variants]
        if missing:
            raise ValueError(
                f"model version {version} serves arm {missing[0]!r}, which is not eligible"
            )
        if len(compiled.arms) < 2:
            raise ValueError(f"model version {version} has fewer than two arms")
    return CompiledOptimization(
        key=key,
        slot_kind=slot_kind,
        slot_key=slot_key,
        policy=compiled,
        version=int(version),
        holdout_share=float(holdout_share),
        variants=dict(variants),
    )
