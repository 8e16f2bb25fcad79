"""Delivery's input rules: it owns the limits of the delivery API (body sizes, nesting,
key counts) and the hand-written, fast validation of the decide, events and profile
bodies (decide is on the hot path) into typed inputs (`DecideInput`, `EventBatch`,
`ProfileInput`). Every problem is collected as a `FieldError` with a path such as
`events[3].name` and raised together as one DRF ValidationError, which the views render
as the API's error envelope; `serializers.py` documents the same shapes for OpenAPI.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypedDict

from rest_framework.exceptions import ValidationError

from analytics.predictive import PREDICTED_TRAITS_KEY
from segments.models import EventKind
from tenancy import jsonsafe

MAX_DECIDE_BODY = 64 * 1024
MAX_EVENTS_BODY = 1024 * 1024
MAX_PROFILE_BODY = 256 * 1024
MAX_EVENTS_PER_BATCH = 500
MAX_ID_LENGTH = 255
MAX_EVENT_ID_LENGTH = 64
MAX_USER_HASH_LENGTH = 128  # hex HMAC-SHA256 is 64; leave room, refuse junk
MAX_NAME_LENGTH = 100
MAX_KEYS_REQUESTED = 200
MAX_JSON_DEPTH = 5  # nesting of objects/arrays inside profile, context and properties
MAX_OBJECT_KEYS = 100  # keys in one object (properties, traits, context)
MAX_PROPERTIES_BYTES = 8 * 1024
MAX_TRAITS_BYTES = 64 * 1024
MAX_CONTEXT_BYTES = 16 * 1024
MAX_VISITOR_IDS = 100
MAX_INLINE_EVENTS = 100  # recent events an app may send along with a decide
FUTURE_SKEW = timedelta(days=1)
# Timestamps before this are refused: nothing real happened then, and dates near year 1
# overflow when converted between time zones (the admin's date hierarchy, exports).
EARLIEST_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(9999, 1, 1, tzinfo=UTC)
EVENT_KINDS = frozenset(EventKind.values)


class FieldError(TypedDict):
    """One problem: where (`events[3].name`; "" for the whole body) and what."""

    path: str
    message: str


class PayloadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit // 1024} KB.")
        self.limit = limit


class DeliveryValidationError(ValidationError):
    """A 400 whose `fields` are already flat paths (the delivery views render it)."""

    def __init__(self, items: list[FieldError]) -> None:
        super().__init__(
            detail=[f"{i['path']}: {i['message']}" if i["path"] else i["message"] for i in items]
        )
        self.items = items


class Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"path": path, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            raise DeliveryValidationError(self.items)


def _reserved_traits(traits: dict[str, Any], path: str, errors: Errors) -> None:
    """`predicted` holds the predictive models' scores (docs/predictive.md): written by the
    server only, never by a client, inline or stored."""
    if PREDICTED_TRAITS_KEY in traits:
        errors.add(
            f"{path}.{PREDICTED_TRAITS_KEY}",
            "Reserved for predictive scores; clients may not set it.",
        )


def raise_errors(items: list[FieldError]) -> NoReturn:
    """Raise the envelope's 400 with these exact paths (see views' exception handling)."""
    raise DeliveryValidationError(items)


def parse_json_body(body: bytes, *, limit: int) -> Any:
    if len(body) > limit:
        raise PayloadTooLarge(limit)
    if not body.strip():
        raise_errors([{"path": "", "message": "The request body must be a JSON object."}])
    try:
        return jsonsafe.loads(body)
    except RecursionError:
        raise_errors([{"path": "", "message": "The JSON is nested too deeply."}])
    except jsonsafe.UnsafeJSON as exc:
        raise_errors([{"path": exc.path, "message": exc.message}])
    except (ValueError, UnicodeDecodeError) as exc:
        raise_errors([{"path": "", "message": f"Malformed JSON: {exc}"}])


def _leaf_problem(value: Any) -> str | None:
    """Why a JSON leaf cannot be stored (NUL, lone surrogate, NaN, huge number), or None."""
    if isinstance(value, str):
        return jsonsafe.text_problem(value)
    if isinstance(value, int | float):
        return jsonsafe.number_problem(value)
    if value is None:
        return None
    return "Must hold only JSON values."


def json_shape_error(
    value: Any, *, max_depth: int, max_keys: int, max_bytes: int, small: bool = False
) -> str | None:
    """Why `value` is too deep, too wide, too big or not storable; None when it is fine."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth >= max_depth:
                return f"is nested more than {max_depth} levels deep"
            if len(node) > max_keys:
                return f"has more than {max_keys} keys"
            children: Any = node.values()
            for key in node:
                if not isinstance(key, str) or len(key) > MAX_NAME_LENGTH:
                    return f"has a key longer than {MAX_NAME_LENGTH} characters"
                problem = jsonsafe.text_problem(key)
                if problem:
                    return f"has a key that is not storable ({problem.rstrip('.')})"
        elif isinstance(node, list):
            if depth >= max_depth:
                return f"is nested more than {max_depth} levels deep"
            if len(node) > max_keys * 10:
                return f"has a list longer than {max_keys * 10} items"
            children = node
        else:
            continue
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif child is not True and child is not False:
                problem = _leaf_problem(child)
                if problem:
                    return f"holds a value that is not storable ({problem.rstrip('.')})"
    if not small and len(json.dumps(value, separators=(",", ":"), default=str)) > max_bytes:
        return f"is larger than {max_bytes // 1024} KB"
    return None


def _id(
    value: Any, path: str, errors: Errors, *, required: bool, max_length: int = MAX_ID_LENGTH
) -> str | None:
    if value is None:
        if required:
            errors.add(path, "This field is required.")
        return None
    if not isinstance(value, str) or not value.strip():
        errors.add(path, "Must be a non-empty string.")
        return None
    if len(value) > max_length:
        errors.add(path, f"At most {max_length} characters.")
        return None
    problem = jsonsafe.text_problem(value)
    if problem:
        errors.add(path, problem)
        return None
    return value


def _object(
    value: Any, path: str, errors: Errors, *, max_bytes: int, body_size: int | None = None
) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, "Must be a JSON object.")
        return {}
    problem = json_shape_error(
        value,
        max_depth=MAX_JSON_DEPTH,
        max_keys=MAX_OBJECT_KEYS,
        max_bytes=max_bytes,
        # re-encoding can grow a body at most 6x (\uXXXX escapes): skip the size check
        # when even that cannot reach the limit.
        small=body_size is not None and body_size * 6 <= max_bytes,
    )
    if problem:
        errors.add(path, f"The object {problem}.")
        return {}
    return value


def _keys(value: Any, path: str, errors: Errors) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        errors.add(path, "Must be a list of keys.")
        return None
    if len(value) > MAX_KEYS_REQUESTED:
        errors.add(path, f"At most {MAX_KEYS_REQUESTED} keys.")
        return None
    out = []
    for index, item in enumerate(value):
        if (
            not isinstance(item, str)
            or not item
            or len(item) > MAX_NAME_LENGTH
            or jsonsafe.text_problem(item)
        ):
            errors.add(f"{path}[{index}]", f"Must be a key of 1 to {MAX_NAME_LENGTH} characters.")
        else:
            out.append(item)
    return tuple(dict.fromkeys(out))


def _bool(value: Any, path: str, errors: Errors, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(path, "Must be true or false.")
        return default
    return value


def _unknown(data: dict[str, Any], allowed: frozenset[str], prefix: str, errors: Errors) -> None:
    for key in data:
        if key not in allowed:
            errors.add(f"{prefix}{key}", "Unknown field.")


# --- decide -----------------------------------------------------------------------------------

DECIDE_KEYS = frozenset(
    {"visitor", "profile", "context", "events", "placements", "screens", "explain"}
)
INLINE_EVENT_KEYS = frozenset({"name", "properties", "timestamp"})
VISITOR_KEYS = frozenset(
    {"id", "user_id", "user_hash", "consent", "visit_count", "first_seen", "last_seen"}
    | {"assignments"}
)
# `visitor.assignments`: the {experiment key: "phase:arm"} decide answered, echoed back.
MAX_ASSIGNMENTS = 100
MAX_ASSIGNMENT_KEY = 100
ASSIGNMENT_KEY_RE = re.compile(r"[-a-zA-Z0-9_]+")
ASSIGNMENT_VALUE_RE = re.compile(r"[0-9]{1,9}:[-a-zA-Z0-9_]{1,100}")


def assignment_ok(key: Any, token: Any) -> bool:
    """Whether one `visitor.assignments` entry is well formed (the template tag's cookie)."""
    return (
        isinstance(key, str)
        and len(key) <= MAX_ASSIGNMENT_KEY
        and ASSIGNMENT_KEY_RE.fullmatch(key) is not None
        and isinstance(token, str)
        and ASSIGNMENT_VALUE_RE.fullmatch(token) is not None
    )


def _assignments(value: Any, errors: Errors) -> dict[str, str]:
    """Well-formed echoed assignments; whether they still apply (the experiment running, in
    that phase, with that arm, on this site) is the engine's business: stale ones are
    ignored there, since a client cannot know an experiment moved on."""
    if value is None:
        return {}
    path = "visitor.assignments"
    if not isinstance(value, dict):
        errors.add(path, 'An object such as {"hero-test": "1:treatment"}.')
        return {}
    if len(value) > MAX_ASSIGNMENTS:
        errors.add(path, f"At most {MAX_ASSIGNMENTS} experiments.")
        return {}
    out: dict[str, str] = {}
    for key, token in value.items():
        if len(key) > MAX_ASSIGNMENT_KEY or not ASSIGNMENT_KEY_RE.fullmatch(key):
            errors.add(f"{path}.{key[:MAX_ASSIGNMENT_KEY]}", "Not an experiment key.")
        elif not isinstance(token, str) or not ASSIGNMENT_VALUE_RE.fullmatch(token):
            errors.add(f"{path}.{key}", 'Must be "phase:arm", as decide answered it.')
        else:
            out[key] = token
    return out


class VisitorExtra(TypedDict, total=False):
    """What a client may tell about an anonymous visitor (a stored profile overrides it)."""

    visit_count: int
    first_seen: str  # ISO 8601, checked
    last_seen: str


class InlineEvent(TypedDict):
    """A recent event the app sends with a decide (counted, never stored)."""

    name: str
    properties: dict[str, Any]
    timestamp: str  # ISO 8601, checked; the decide time when the app sent none


@dataclass(frozen=True, slots=True)
class DecideInput:
    """A validated decide body."""

    visitor_id: str | None
    user_id: str | None
    consent: bool
    visitor_extra: VisitorExtra
    profile: dict[str, Any]  # inline traits: any JSON object within the limits
    context: dict[str, Any]  # the catalog's context keys and custom ones
    placements: tuple[str, ...] | None
    screens: tuple[str, ...] | None
    explain: bool
    events: tuple[InlineEvent, ...] = ()  # inline recent events, counted with stored ones
    user_hash: str | None = None  # proof of user_id from the site's server (tenancy.identity)
    assignments: dict[str, str] = field(default_factory=dict)  # echoed {experiment: "phase:arm"}


def _event_fields(
    raw: dict[str, Any], path: str, errors: Errors, *, now: datetime
) -> tuple[str | None, dict[str, Any], datetime]:
    """The name, properties and time (default `now`) of a stored or an inline event."""
    name = _id(raw.get("name"), f"{path}.name", errors, required=True, max_length=MAX_NAME_LENGTH)
    properties = _object(
        raw.get("properties"), f"{path}.properties", errors, max_bytes=MAX_PROPERTIES_BYTES
    )
    occurred_at = now
    if raw.get("timestamp") is not None:
        problem = _timestamp_problem(raw["timestamp"], latest=now + FUTURE_SKEW)
        if problem:
            errors.add(f"{path}.timestamp", problem)
        else:
            occurred_at = _datetime(raw["timestamp"]) or now
    return name, properties, occurred_at


def _inline_events(value: Any, errors: Errors, *, now: datetime) -> tuple[InlineEvent, ...]:
    """`events` on decide: at most MAX_INLINE_EVENTS, each checked like a stored event."""
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.add("events", "Must be a list of events.")
        return ()
    if len(value) > MAX_INLINE_EVENTS:
        errors.add("events", f"At most {MAX_INLINE_EVENTS} events (the most recent ones).")
        return ()
    out: list[InlineEvent] = []
    for index, raw in enumerate(value):
        path = f"events[{index}]"
        if not isinstance(raw, dict):
            errors.add(path, "Must be a JSON object.")
            continue
        before = len(errors.items)
        _unknown(raw, INLINE_EVENT_KEYS, f"{path}.", errors)
        name, properties, when = _event_fields(raw, path, errors, now=now)
        if len(errors.items) == before and name is not None:
            out.append({"name": name, "properties": properties, "timestamp": when.isoformat()})
    return tuple(out)


def validate_decide(
    data: Any, *, body_size: int | None = None, now: datetime | None = None
) -> DecideInput:
    errors = Errors()
    if not isinstance(data, dict):
        raise_errors([{"path": "", "message": "The request body must be a JSON object."}])
    _unknown(data, DECIDE_KEYS, "", errors)
    visitor = data.get("visitor")
    visitor_id = user_id = user_hash = None
    consent = True
    extra: VisitorExtra = {}
    assignments: dict[str, str] = {}
    if not isinstance(visitor, dict):
        errors.add("visitor", "Required: an object with an `id` (and optionally `user_id`).")
    else:
        _unknown(visitor, VISITOR_KEYS, "visitor.", errors)
        visitor_id = _id(visitor.get("id"), "visitor.id", errors, required=False)
        user_id = _id(visitor.get("user_id"), "visitor.user_id", errors, required=False)
        user_hash = _user_hash(visitor.get("user_hash"), "visitor.user_hash", errors)
        if visitor_id is None and user_id is None and not errors.items:
            errors.add("visitor.id", "Send an anonymous `id`, a `user_id`, or both.")
        consent = _bool(visitor.get("consent"), "visitor.consent", errors, True)
        assignments = _assignments(visitor.get("assignments"), errors)
        count = visitor.get("visit_count")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 2**31:
                errors.add("visitor.visit_count", "Must be a non-negative integer.")
            else:
                extra["visit_count"] = count
        for key in ("first_seen", "last_seen"):
            value = visitor.get(key)
            if value is not None:
                problem = _timestamp_problem(value, latest=LATEST_TIMESTAMP)
                if problem:
                    errors.add(f"visitor.{key}", problem)
                else:
                    extra[key] = value
    profile = _object(
        data.get("profile"), "profile", errors, max_bytes=MAX_TRAITS_BYTES, body_size=body_size
    )
    _reserved_traits(profile, "profile", errors)
    context = _object(
        data.get("context"), "context", errors, max_bytes=MAX_CONTEXT_BYTES, body_size=body_size
    )
    events = _inline_events(data.get("events"), errors, now=now or datetime.now(UTC))
    placements = _keys(data.get("placements"), "placements", errors)
    screens = _keys(data.get("screens"), "screens", errors)
    explain = _bool(data.get("explain"), "explain", errors, False)
    errors.raise_if_any()
    return DecideInput(
        visitor_id=visitor_id,
        user_id=user_id,
        consent=consent,
        visitor_extra=extra,
        profile=profile,
        context=context,
        placements=placements,
        screens=screens,
        explain=explain,
        events=events,
        user_hash=user_hash,
        assignments=assignments,
    )


def _user_hash(value: Any, path: str, errors: Errors) -> str | None:
    return _id(value, path, errors, required=False, max_length=MAX_USER_HASH_LENGTH)


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11+ reads a trailing "Z" too
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # 0001-01-01T00:00+01:00 has no UTC equivalent
    except (ValueError, OverflowError):
        return None
    return parsed


def _timestamp_problem(value: Any, *, latest: datetime) -> str | None:
    """Why `value` is not an ISO 8601 date-time from 1970 to `latest`, or None."""
    parsed = _datetime(value)
    if parsed is None:
        return "Must be an ISO 8601 date-time."
    if parsed < EARLIEST_TIMESTAMP:
        return "Must not be before 1970-01-01."
    if parsed > latest:
        if latest == LATEST_TIMESTAMP:
            return "Must be before 9999-01-01."
        return "Is more than a day in the future."
    return None


# --- events -----------------------------------------------------------------------------------

BATCH_KEYS = frozenset({"visitor", "events"})
BATCH_VISITOR_KEYS = frozenset({"id", "user_id", "user_hash", "consent"})
EVENT_KEYS = frozenset(
    {"id", "kind", "name", "properties", "timestamp", "visitor_id", "user_id", "user_hash"}
    | {"slot", "variant", "reason"}
)
# Attribution: what was shown (slot, variant) and why (reason, as decide answers it).
ATTRIBUTED_KINDS = frozenset({EventKind.IMPRESSION, EventKind.CLICK, EventKind.CONVERSION})
REASON_KEYS: dict[str, tuple[str, ...]] = {
    "segment": ("segment",),
    "experiment": ("experiment", "arm"),
    "holdout": (),  # the site's global holdout; an older named holdout is kept (below)
    "optimized": ("optimization", "arm"),  # an older {"policy": key} is kept (below)
    "default": (),
}


@dataclass(frozen=True, slots=True)
class EventInput:
    event_id: str | None
    kind: str
    name: str
    properties: dict[str, Any]
    occurred_at: datetime
    visitor_id: str
    user_id: str | None
    user_hash: str | None = None
    slot: str = ""
    variant: str = ""
    reason: str = ""  # segment, experiment, holdout, optimized or default
    reason_key: str = ""  # the segment, "experiment:arm", the holdout or "optimization:arm"


@dataclass(frozen=True, slots=True)
class Attribution:
    slot: str = ""
    variant: str = ""
    reason: str = ""
    reason_key: str = ""


def _attribution(raw: dict[str, Any], kind: Any, path: str, errors: Errors) -> Attribution:
    """`slot`, `variant` and `reason` of an impression, click or conversion."""
    if not any(raw.get(k) is not None for k in ("slot", "variant", "reason")):
        return Attribution()
    if not isinstance(kind, str) or kind not in ATTRIBUTED_KINDS:
        errors.add(
            f"{path}.kind", "Only impression, click and conversion events carry slot/variant."
        )
        return Attribution()
    slot = _id(raw.get("slot"), f"{path}.slot", errors, required=True, max_length=MAX_NAME_LENGTH)
    variant = _id(
        raw.get("variant"), f"{path}.variant", errors, required=False, max_length=MAX_NAME_LENGTH
    )
    reason = raw.get("reason")
    if reason is None:
        return Attribution(slot or "", variant or "", "", "")
    if not isinstance(reason, dict) or reason.get("kind") not in REASON_KEYS:
        errors.add(
            f"{path}.reason",
            'An object such as {"kind": "segment", "segment": "vip"}; kind is one of '
            + ", ".join(REASON_KEYS)
            + ".",
        )
        return Attribution()
    names = REASON_KEYS[reason["kind"]]  # other keys are ignored: decide may add some
    if reason["kind"] == "holdout" and reason.get("holdout") is not None:
        names = ("holdout",)
    elif (
        reason["kind"] == "optimized"
        and reason.get("optimization") is None
        and reason.get("policy") is not None
    ):
        names = ("policy",)
    parts = [
        _id(reason.get(n), f"{path}.reason.{n}", errors, required=True, max_length=MAX_NAME_LENGTH)
        for n in names
    ]
    return Attribution(slot or "", variant or "", reason["kind"], ":".join(p or "" for p in parts))


@dataclass(frozen=True, slots=True)
class EventBatch:
    consent: bool
    events: list[EventInput] = field(default_factory=list)


def validate_events(data: Any, *, now: datetime) -> EventBatch:
    """The whole batch or nothing: every problem is reported, and nothing is stored."""
    errors = Errors()
    if not isinstance(data, dict):
        raise_errors([{"path": "", "message": "The request body must be a JSON object."}])
    _unknown(data, BATCH_KEYS, "", errors)
    visitor = data.get("visitor")
    default_visitor = default_user = default_hash = None
    consent = True
    if visitor is not None:
        if not isinstance(visitor, dict):
            errors.add("visitor", "Must be a JSON object.")
        else:
            _unknown(visitor, BATCH_VISITOR_KEYS, "visitor.", errors)
            default_visitor = _id(visitor.get("id"), "visitor.id", errors, required=False)
            default_user = _id(visitor.get("user_id"), "visitor.user_id", errors, required=False)
            default_hash = _user_hash(visitor.get("user_hash"), "visitor.user_hash", errors)
            consent = _bool(visitor.get("consent"), "visitor.consent", errors, True)
    events = data.get("events")
    if not isinstance(events, list):
        errors.add("events", "Required: a list of events.")
        raise_errors(errors.items)
    if not events:
        errors.add("events", "Send at least one event.")
    if len(events) > MAX_EVENTS_PER_BATCH:
        errors.add(
            "events", f"At most {MAX_EVENTS_PER_BATCH} events per batch; send several batches."
        )
        raise_errors(errors.items)
    out: list[EventInput] = []
    seen_ids: dict[str, int] = {}
    for index, raw in enumerate(events):
        path = f"events[{index}]"
        if not isinstance(raw, dict):
            errors.add(path, "Must be a JSON object.")
            continue
        before = len(errors.items)
        _unknown(raw, EVENT_KEYS, f"{path}.", errors)
        event_id = _id(
            raw.get("id"), f"{path}.id", errors, required=False, max_length=MAX_EVENT_ID_LENGTH
        )
        if event_id is not None:
            if event_id in seen_ids:
                errors.add(f"{path}.id", f"Repeats the id of events[{seen_ids[event_id]}].")
            seen_ids.setdefault(event_id, index)
        kind = raw.get("kind", EventKind.CUSTOM.value)
        if not isinstance(kind, str) or kind not in EVENT_KINDS:
            errors.add(f"{path}.kind", f"Must be one of {', '.join(sorted(EVENT_KINDS))}.")
        name, properties, occurred_at = _event_fields(raw, path, errors, now=now)
        visitor_id = _id(raw.get("visitor_id"), f"{path}.visitor_id", errors, required=False)
        user_id = _id(raw.get("user_id"), f"{path}.user_id", errors, required=False)
        user_hash = _user_hash(raw.get("user_hash"), f"{path}.user_hash", errors)
        if user_id is None:
            user_id, user_hash = default_user, default_hash
        attribution = _attribution(raw, kind, path, errors)
        visitor_id = visitor_id or default_visitor
        if visitor_id is None and user_id is None and len(errors.items) == before:
            errors.add(
                f"{path}.visitor_id",
                "No visitor: set `visitor.id` on the batch or `visitor_id` here.",
            )
        if len(errors.items) == before:
            out.append(
                EventInput(
                    event_id=event_id,
                    kind=kind,
                    name=name or "",
                    properties=properties,
                    occurred_at=occurred_at,
                    visitor_id=visitor_id or user_id or "",
                    user_id=user_id,
                    user_hash=user_hash,
                    slot=attribution.slot,
                    variant=attribution.variant,
                    reason=attribution.reason,
                    reason_key=attribution.reason_key,
                )
            )
    errors.raise_if_any()
    return EventBatch(consent=consent, events=out)


# --- profiles ---------------------------------------------------------------------------------

PROFILE_KEYS = frozenset({"traits", "visitor_ids", "consent"})


@dataclass(frozen=True, slots=True)
class ProfileInput:
    traits: dict[str, Any]
    visitor_ids: tuple[str, ...]
    consent: bool | None


def validate_user_id(user_id: str) -> str:
    if not user_id or len(user_id) > MAX_ID_LENGTH or jsonsafe.text_problem(user_id):
        raise_errors([{"path": "user_id", "message": f"Must be 1 to {MAX_ID_LENGTH} characters."}])
    return user_id


def validate_profile(data: Any) -> ProfileInput:
    errors = Errors()
    if not isinstance(data, dict):
        raise_errors([{"path": "", "message": "The request body must be a JSON object."}])
    _unknown(data, PROFILE_KEYS, "", errors)
    traits = _object(data.get("traits"), "traits", errors, max_bytes=MAX_TRAITS_BYTES)
    _reserved_traits(traits, "traits", errors)
    ids: list[str] = []
    raw_ids = data.get("visitor_ids")
    if raw_ids is not None:
        if not isinstance(raw_ids, list):
            errors.add("visitor_ids", "Must be a list of anonymous visitor ids.")
        elif len(raw_ids) > MAX_VISITOR_IDS:
            errors.add("visitor_ids", f"At most {MAX_VISITOR_IDS} ids per request.")
        else:
            for index, item in enumerate(raw_ids):
                value = _id(item, f"visitor_ids[{index}]", errors, required=True)
                if value is not None:
                    ids.append(value)
    consent = data.get("consent")
    if consent is not None and not isinstance(consent, bool):
        errors.add("consent", "Must be true or false.")
    errors.raise_if_any()
    return ProfileInput(traits=traits, visitor_ids=tuple(dict.fromkeys(ids)), consent=consent)
