"""Which variant of each placement and screen a visitor gets, and why: the first active targeted
variant whose segment matches, else the default; then in which language: the visitor's
preferred languages (`preferred_languages`, Accept-Language style) walked down the fallback
chain (`language_chain`) to the site's default. Pure (no ORM); shared by delivery and the
admin preview.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NotRequired, TypedDict

from content.published import PublishedSite, PublishedSlot, PublishedVariant

# --- reasons ------------------------------------------------------------------------------------

ReasonKind = Literal["segment", "experiment", "holdout", "optimized", "default"]


class Reason(TypedDict):
    """Why a visitor got a variant. `kind` says which of the optional keys are present:
    "segment": `segment`; "experiment": `experiment`, `phase` (a number), `arm`; "holdout"
    (the site's global holdout: defaults only): none; "optimized": `optimization`,
    `version` (the model version number, 0 for the uniform start policy), `arm`; "default":
    none. Build them with the constructors below (`segment_reason`, `default_reason`),
    never as dict literals."""

    kind: ReasonKind
    segment: NotRequired[str]
    experiment: NotRequired[str]
    phase: NotRequired[int]
    arm: NotRequired[str]
    optimization: NotRequired[str]
    version: NotRequired[int]


def segment_reason(segment: str) -> Reason:
    """The variant targets `segment`, and the visitor is a member."""
    return {"kind": "segment", "segment": segment}


def default_reason() -> Reason:
    """No targeted variant applied: the slot's default."""
    return {"kind": "default"}


def experiment_reason(experiment: str, phase: int, arm: str) -> Reason:
    """The visitor is in `arm` of `experiment` (in its phase `phase`); a control arm serves
    what personalization chose, under this reason."""
    return {"kind": "experiment", "experiment": experiment, "phase": phase, "arm": arm}


def optimized_reason(optimization: str, version: int, arm: str) -> Reason:
    """A learnt policy (`optimization`, model version `version`; 0 is the uniform start
    policy) drew `arm` for the visitor."""
    return {"kind": "optimized", "optimization": optimization, "version": version, "arm": arm}


def holdout_reason() -> Reason:
    """The visitor is in the site's global holdout: the default, whatever matched."""
    return {"kind": "holdout"}


@dataclass(frozen=True)
class Resolution:
    variant: PublishedVariant
    reason: Reason
    language: str  # the language served: a translation's tag or the site's default
    payload: dict  # the variant's payload in that language


# --- languages ----------------------------------------------------------------------------------

# Longer values are cut here: a header is never that long, and a hostile one costs nothing more.
MAX_LANGUAGE_INPUT = 512
MAX_LANGUAGE_RANGES = 32
_RANGE = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")


@lru_cache(maxsize=4096)
def _preferred(value: str) -> tuple[str, ...]:
    ranges: list[tuple[float, int, str]] = []
    for index, part in enumerate(value.split(",", MAX_LANGUAGE_RANGES)[:MAX_LANGUAGE_RANGES]):
        tag, _, params = part.partition(";")
        tag = tag.strip().lower().replace("_", "-")
        if not _RANGE.fullmatch(tag):
            continue  # "*", garbage, non-ASCII: nothing to look up
        quality = 1.0
        if params.strip():
            name, _, number = params.partition("=")
            try:
                quality = float(number) if name.strip() == "q" else -1.0
            except ValueError:
                continue
            if not 0 <= quality <= 1:  # also NaN
                continue
        if quality > 0:  # q=0 means "not this one"
            ranges.append((-quality, index, tag))
    chain: list[str] = []
    for _, _, tag in sorted(ranges):
        # RFC 4647 lookup: each range, then its primary subtag, before the next range.
        for candidate in (tag, tag.partition("-")[0]):
            if candidate not in chain:
                chain.append(candidate)
    return tuple(chain)


def preferred_languages(value: Any) -> tuple[str, ...]:
    """The lower-case language tags a visitor accepts, best first, each followed by its primary
    subtag: `"fr-CA,fr;q=0.9,en;q=0.8"` → `("fr-ca", "fr", "en")`, `"FR-ca"` → `("fr-ca",
    "fr")`. A single tag or an Accept-Language header; anything unreadable gives `()`."""
    if type(value) is not str or not value:
        return ()
    return _preferred(value[:MAX_LANGUAGE_INPUT])


def language_chain(
    value: Any, *, default_language: str, available: frozenset[str]
) -> tuple[str, ...]:
    """The translations to look for, best first, for a visitor's `context.language`: their
    preferred languages that some variant is translated into (`available`, lower-case),
    stopping at the site's default language (or its primary subtag), which the base content
    serves. `()` means the base content."""
    if not available:
        return ()
    default = default_language.lower()
    default_primary = default.partition("-")[0]
    chain = []
    for language in preferred_languages(value):
        if language in (default, default_primary):
            break
        if language in available:
            chain.append(language)
    return tuple(chain)


# --- resolution ---------------------------------------------------------------------------------


def _localized(
    variant: PublishedVariant, reason: Reason, chain: tuple[str, ...], default_language: str
) -> Resolution:
    found = variant.localized(chain)
    if found is None:
        return Resolution(variant, reason, default_language, variant.payload)
    return Resolution(variant, reason, found.language, found.payload)


def resolve_slot(
    slot: PublishedSlot,
    is_member: Callable[[str], bool],
    now: datetime,
    *,
    chain: tuple[str, ...] = (),
    default_language: str = "",
) -> Resolution:
    """The first targeted variant (by priority) active at `now` whose segment matches,
    otherwise the default; in the first language of `chain` it is translated into, otherwise
    in the site's default language."""
    for variant in slot.targeted:
        if variant.is_active(now) and is_member(variant.segment_key):
            reason = segment_reason(variant.segment_key or "")
            return _localized(variant, reason, chain, default_language)
    return _localized(slot.default, default_reason(), chain, default_language)


def resolve_all(
    published: PublishedSite,
    is_member: Callable[[str], bool],
    now: datetime,
    *,
    placements: Iterable[str] | None = None,
    screens: Iterable[str] | None = None,
    language: Any = None,
) -> dict[str, dict[str, Resolution]]:
    """`{"placements": {key: Resolution}, "screens": {...}}`.

    `None` asks for all slots; unknown keys are skipped. `language` is the visitor's
    `context.language` (a tag or an Accept-Language value).
    """
    default_language = published.default_language
    chain = language_chain(
        language, default_language=default_language, available=published.languages
    )
    out: dict[str, dict[str, Resolution]] = {}
    for name, slots, wanted in (
        ("placements", published.placements, placements),
        ("screens", published.screens, screens),
    ):
        keys = slots.keys() if wanted is None else [k for k in wanted if k in slots]
        out[name] = {
            key: resolve_slot(
                slots[key], is_member, now, chain=chain, default_language=default_language
            )
            for key in keys
        }
    return out
