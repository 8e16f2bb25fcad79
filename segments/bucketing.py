"""Deterministic bucketing, compatible with GrowthBook's hashing version 2.

Pure module: used by rollouts (criteria), experiments and the SQL function
`personalize_hash_unit` so in-memory and SQL assignments are identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(text: str) -> int:
    """FNV-1a 32-bit over UTF-16 code units (as JavaScript's `charCodeAt` sees them)."""
    h = _FNV_OFFSET
    if text.isascii():
        for b in text.encode("ascii"):
            h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
        return h
    # Astral characters become surrogate pairs, exactly like JS strings.
    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        h = ((h ^ (data[i] | (data[i + 1] << 8))) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def hash_unit(seed: str, unit_id: str) -> float:
    """A float in [0, 1) with 4 decimals: GrowthBook v2 `hash(seed, id, 2)`."""
    return (fnv1a32(str(fnv1a32(f"{seed}{unit_id}"))) % 10000) / 10000


def seeded_hash(seed: str) -> Callable[[str], float]:
    """`hash_unit` with the seed fixed: FNV-1a reads the seed and then the id one code unit
    after the other, so the state after the seed is the same for every unit and is computed
    here once (ASCII ids then hash only themselves; the rest go through `hash_unit`)."""
    if not seed.isascii():
        return lambda unit_id: hash_unit(seed, unit_id)
    start = _FNV_OFFSET
    for b in seed.encode("ascii"):
        start = ((start ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    prime = _FNV_PRIME

    def hashed(unit_id: str) -> float:
        if not unit_id.isascii():
            return hash_unit(seed, unit_id)
        h = start
        for b in unit_id.encode("ascii"):
            h = ((h ^ b) * prime) & 0xFFFFFFFF
        outer = _FNV_OFFSET
        for b in str(h).encode("ascii"):
            outer = ((outer ^ b) * prime) & 0xFFFFFFFF
        return (outer % 10000) / 10000

    return hashed


def bucket_ranges(weights: Sequence[float], coverage: float = 1.0) -> list[tuple[float, float]]:
    """Ranges `[start_i, start_i + coverage * w_i)` with `start_i` the sum of earlier weights.

    Weights are normalised to sum to 1, so raising coverage never moves anyone already in.
    """
    if not weights:
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("weights must not all be zero")
    coverage = min(1.0, max(0.0, float(coverage)))
    ranges: list[tuple[float, float]] = []
    cumulative = 0.0
    for w in weights:
        share = w / total
        start = cumulative
        cumulative += share
        ranges.append((start, start + coverage * share))
    return ranges


def choose_bucket(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Index of the range holding `n`, or -1 when `n` falls outside every range."""
    for i, (start, end) in enumerate(ranges):
        if start <= n < end:
            return i
    return -1
