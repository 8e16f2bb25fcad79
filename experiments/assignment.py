"""Which arm of an experiment a unit gets: compiled experiment tables and `assign()`.

Pure (no Django): delivery compiles running experiments into its snapshot with these
dataclasses and the engine calls `assign()` per decide. Hashing is `segments.bucketing`
(GrowthBook's v2 hash), in this order:

1. the site's global holdout: a unit with `hash_unit(holdout.seed, unit) < share` is in
   no experiment (and gets the defaults, which the engine decides);
2. the layer: experiments sharing a layer take disjoint slices `[start, end)` of
   `hash_unit(layer.seed, unit)`, so a unit is in at most one of them;
3. the audience segment (the caller evaluates it: segment rules live in the snapshot);
4. a sticky assignment (`"phase:arm"`, echoed by the client or stored on the profile) for
   the experiment's current phase: it wins over the hash, so weights changed within a phase
   (bandits, "keep phase") never move a unit already assigned;
5. coverage and weights: `bucket_ranges(weights, coverage)` over `hash_unit(seed, unit)`,
   whose ranges only grow with coverage, so raising coverage never moves anyone in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from segments.bucketing import bucket_ranges, choose_bucket, hash_unit

SlotKind = Literal["placement", "screen"]


@dataclass(frozen=True, slots=True)
class CompiledArm:
    key: str
    weight: float
    variant: str | None  # the variant key it serves; None: control (normal personalization)
    probability: float  # weight / total weight: the chance of this arm for a unit in the test


@dataclass(frozen=True, slots=True)
class CompiledHoldout:
    """A site's global holdout: `share` of units (by `hash_unit(seed, unit)`) get defaults."""

    seed: str
    share: float

    def holds(self, unit: str) -> bool:
        return self.share > 0 and hash_unit(self.seed, unit) < self.share


@dataclass(frozen=True)
class CompiledExperiment:
    key: str
    phase: int
    slot_kind: SlotKind
    slot_key: str
    arms: tuple[CompiledArm, ...]
    seed: str
    coverage: float = 1.0
    audience: str | None = None  # segment key, or None: everyone
    layer_seed: str | None = None  # None: not in a layer
    layer_start: float = 0.0
    layer_end: float = 1.0
    ranges: tuple[tuple[float, float], ...] = field(init=False)
    by_key: Mapping[str, CompiledArm] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.arms:
            raise ValueError(f"experiment {self.key!r} has no arms")
        ranges = bucket_ranges([a.weight for a in self.arms], self.coverage)
        object.__setattr__(self, "ranges", tuple(ranges))
        object.__setattr__(self, "by_key", {a.key: a for a in self.arms})

    def in_layer(self, unit: str) -> bool:
        if self.layer_seed is None:
            return True
        return self.layer_start <= hash_unit(self.layer_seed, unit) < self.layer_end

    def sticky_arm(self, sticky: str | None) -> CompiledArm | None:
        """The arm of a `"phase:arm"` assignment if it is for the current phase and the arm
        still exists; None otherwise (an old phase or an unknown arm is ignored)."""
        if not sticky:
            return None
        phase, sep, arm = sticky.partition(":")
        if not sep or phase != str(self.phase):
            return None
        return self.by_key.get(arm)


@dataclass(frozen=True, slots=True)
class Assigned:
    experiment: CompiledExperiment
    arm: CompiledArm
    probability: float
    sticky: bool  # from a stored/echoed assignment rather than the hash

    @property
    def token(self) -> str:
        """What the client echoes back and the profile keeps: `"phase:arm"`."""
        return f"{self.experiment.phase}:{self.arm.key}"


def compile_arms(arms: list[tuple[str, float, str | None]]) -> tuple[CompiledArm, ...]:
    """(key, weight, variant key or None for control) -> arms with their probabilities."""
    total = float(sum(w for _, w, _ in arms))
    if total <= 0:
        raise ValueError("weights must not all be zero")
    return tuple(CompiledArm(k, float(w), v, float(w) / total) for k, w, v in arms)


def assign(
    experiment: CompiledExperiment,
    unit: str | None,
    *,
    in_audience: Callable[[str], bool] | None = None,
    sticky: str | None = None,
    holdout: CompiledHoldout | None = None,
) -> Assigned | None:
    """The unit's arm in `experiment`, or None (not in the experiment: normal delivery).

    `in_audience(segment_key)` answers audience membership (only asked when the experiment
    has an audience; without a callback nobody is in an audience). `sticky` is the unit's
    `"phase:arm"` for this experiment, echoed or stored. The probability reported is the
    arm's share of the units in the experiment (weights normalised): what inverse
    propensity weighting divides by. For a sticky unit it is today's share of its arm; the
    probability at its first exposure is the one recorded (experiments.Assignment).
    """
    if not unit:
        return None
    if holdout is not None and holdout.holds(unit):
        return None
    if not experiment.in_layer(unit):
        return None
    if experiment.audience is not None and (
        in_audience is None or not in_audience(experiment.audience)
    ):
        return None
    arm = experiment.sticky_arm(sticky)
    if arm is not None:
        return Assigned(experiment, arm, arm.probability, sticky=True)
    index = choose_bucket(hash_unit(experiment.seed, unit), experiment.ranges)
    if index < 0:
        return None
    arm = experiment.arms[index]
    return Assigned(experiment, arm, arm.probability, sticky=False)


def parse_token(token: str) -> tuple[int, str] | None:
    """`"3:treatment"` -> (3, "treatment"); None when malformed."""
    phase, sep, arm = token.partition(":")
    if not sep or not arm or not phase.isdigit() or not phase.isascii():
        return None
    return int(phase), arm
