"""The built-in field catalog and the normalisation of a site's catalog."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from segments.criteria.labels import gettext_noop
from segments.criteria.types import FieldType

TYPES: frozenset[FieldType] = frozenset(get_args(FieldType))

# A path segment: a letter or "_", then letters, digits, "_" or "-". Safe to inline in SQL
# JSON paths, and never read as an array index by PostgreSQL.
KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
ROOTS = ("profile", "context", "visitor")


def _f(
    type_: FieldType, label: str, help_text: str = "", allowed: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {"type": type_, "label": label, "help_text": help_text, "allowed_values": list(allowed)}


# Labels are msgids (translated where shown); help texts stay English.
BUILTIN_FIELDS: dict[str, dict[str, Any]] = {
    # Profile traits, stored per person and/or sent inline.
    "profile.age": _f("number", gettext_noop("Age"), "Age in years."),
    "profile.gender": _f(
        "enum", gettext_noop("Gender"), "", ("female", "male", "non_binary", "unknown")
    ),
    "profile.city": _f("string", gettext_noop("City"), "Home city."),
    "profile.region": _f("string", gettext_noop("Region"), "Home region or state."),
    "profile.country": _f("string", gettext_noop("Country"), "Home country (ISO code or name)."),
    "profile.birth_date": _f("date", gettext_noop("Birth date"), "YYYY-MM-DD."),
    "profile.signup_date": _f("date", gettext_noop("Signup date"), "YYYY-MM-DD."),
    "profile.interests": _f("list", gettext_noop("Interests"), "A list of interest tags."),
    "profile.loyalty_tier": _f(
        "enum", gettext_noop("Loyalty tier"), "", ("bronze", "silver", "gold", "platinum")
    ),
    "profile.lifetime_value": _f("number", gettext_noop("Lifetime value"), "Total spend."),
    # Request context.
    "context.device_type": _f(
        "enum",
        gettext_noop("Device type"),
        "",
        ("desktop", "mobile", "tablet", "tv", "car", "other"),
    ),
    "context.os": _f("string", gettext_noop("Operating system")),
    "context.os_version": _f(
        "version", gettext_noop("OS version"), "Compared as a version: 17.10 > 17.9."
    ),
    "context.app_version": _f(
        "version", gettext_noop("App version"), "Compared as a version: 3.10 > 3.9."
    ),
    "context.browser": _f("string", gettext_noop("Browser")),
    "context.language": _f("string", gettext_noop("Language"), "e.g. en-US."),
    "context.country": _f("string", gettext_noop("Country (request)")),
    "context.region": _f("string", gettext_noop("Region (request)")),
    "context.city": _f("string", gettext_noop("City (request)")),
    "context.location": _f("geo", gettext_noop("Location"), '{"lat": .., "lng": ..}'),
    "context.weather": _f(
        "enum", gettext_noop("Weather"), "", ("clear", "clouds", "rain", "snow", "storm", "fog")
    ),
    "context.local_time": _f(
        "datetime",
        gettext_noop("Local time"),
        "ISO 8601 with the visitor's UTC offset, e.g. 2026-11-22T19:05-05:00.",
    ),
    "context.referrer": _f("string", gettext_noop("Referrer")),
    "context.landing_page": _f("string", gettext_noop("Landing page")),
    "context.utm_source": _f("string", gettext_noop("UTM source")),
    "context.utm_medium": _f("string", gettext_noop("UTM medium")),
    "context.utm_campaign": _f("string", gettext_noop("UTM campaign")),
    "context.channel": _f(
        "enum", gettext_noop("Channel"), "", ("web", "app", "email", "push", "kiosk")
    ),
    "context.in_car": _f("boolean", gettext_noop("In a car")),
    # The visitor.
    "visitor.id": _f("string", gettext_noop("Visitor id"), "The id rollouts bucket by."),
    "visitor.user_id": _f("string", gettext_noop("User id"), "The site's id of a known person."),
    "visitor.is_known": _f(
        "boolean", gettext_noop("Is known"), "The visitor has a stored profile."
    ),
    "visitor.visit_count": _f("number", gettext_noop("Visit count")),
    "visitor.first_seen": _f("datetime", gettext_noop("First seen")),
    "visitor.last_seen": _f("datetime", gettext_noop("Last seen")),
    "visitor.consent": _f(
        "boolean", gettext_noop("Consent"), "The person consented to personalization."
    ),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: str
    type: FieldType
    allowed_values: tuple[Any, ...] = ()


def _spec(path: str, raw: Any) -> FieldSpec:
    if isinstance(raw, str):
        return FieldSpec(path, raw)
    if isinstance(raw, Mapping):
        return FieldSpec(path, raw["type"], tuple(raw.get("allowed_values") or ()))
    return FieldSpec(path, raw.type, tuple(getattr(raw, "allowed_values", None) or ()))


class FieldSpecs(dict[str, FieldSpec]):
    """A catalog `normalize_fields` already produced: passed again, it is used as is, so a
    caller compiling many trees against one catalog normalises it once. Read-only (its
    `fingerprint`, set on first use by the compiler's rule cache, names its content)."""

    fingerprint: int | None = None


def normalize_fields(fields: Any) -> dict[str, FieldSpec]:
    """Built-ins overlaid with `fields` (mapping path→type/spec, or Field-like objects)."""
    if type(fields) is FieldSpecs:
        return fields
    specs = FieldSpecs((p, _spec(p, raw)) for p, raw in BUILTIN_FIELDS.items())
    if fields is None:
        return specs
    if isinstance(fields, Mapping):
        items: Iterable[tuple[str, Any]] = fields.items()
    else:
        items = ((f.path, f) for f in fields)
    for path, raw in items:
        if path.startswith("visitor."):
            continue  # visitor.* is fixed: it maps onto the document and Profile columns
        specs[path] = _spec(path, raw)
    return specs
