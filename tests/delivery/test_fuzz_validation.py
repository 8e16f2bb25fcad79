"""Hypothesis fuzzing of the delivery validators: any body (raw bytes or a parsed JSON
value) gives the validation error or a valid, storable result, never another exception."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.validation import (
    DecideInput,
    DeliveryValidationError,
    EventBatch,
    PayloadTooLarge,
    ProfileInput,
    parse_json_body,
    validate_decide,
    validate_events,
    validate_profile,
)
from tenancy import jsonsafe

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
FUZZ = settings(
    max_examples=150,
    deadline=timedelta(milliseconds=500),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),  # lone surrogates and NUL included
    st.sampled_from(["0001-01-01T00:00:00+01:00", "2026-05-01T10:00:00Z", "click", "x"]),
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
visitor = st.fixed_dictionaries(
    {},
    optional={k: values for k in ("id", "user_id", "consent", "visit_count", "first_seen")},
)
decide_bodies = st.one_of(
    values,
    st.fixed_dictionaries(
        {"visitor": visitor},
        optional={k: values for k in ("profile", "context", "placements", "screens", "explain")},
    ),
)
event = st.fixed_dictionaries(
    {"name": values},
    optional={k: values for k in ("id", "kind", "properties", "timestamp", "user_id")},
)
event_bodies = st.one_of(
    values,
    st.fixed_dictionaries({"visitor": visitor, "events": st.lists(event | values, max_size=4)}),
)
profile_bodies = st.one_of(
    values,
    st.fixed_dictionaries(
        {}, optional={"traits": values, "visitor_ids": values, "consent": values}
    ),
)


def _storable(value) -> None:
    assert jsonsafe.find_problem(value) is None, value
    json.dumps(value, allow_nan=False)  # a client can read it back


@FUZZ
@given(decide_bodies)
def test_decide_validator(body):
    try:
        result = validate_decide(body)
    except DeliveryValidationError as exc:
        assert exc.items
        return
    assert isinstance(result, DecideInput)
    _storable([result.visitor_id, result.user_id, result.profile, result.context])


@FUZZ
@given(event_bodies)
def test_events_validator(body):
    try:
        batch = validate_events(body, now=NOW)
    except DeliveryValidationError as exc:
        assert exc.items
        return
    assert isinstance(batch, EventBatch)
    for e in batch.events:
        _storable([e.event_id, e.kind, e.name, e.properties, e.visitor_id, e.user_id])
        assert datetime(1970, 1, 1, tzinfo=UTC) <= e.occurred_at <= NOW + timedelta(days=1)
        e.occurred_at.astimezone(UTC)


@FUZZ
@given(profile_bodies)
def test_profile_validator(body):
    try:
        result = validate_profile(body)
    except DeliveryValidationError as exc:
        assert exc.items
        return
    assert isinstance(result, ProfileInput)
    _storable([result.traits, list(result.visitor_ids)])


@FUZZ
@given(st.binary(max_size=200) | values.map(lambda v: json.dumps(v).encode()))
def test_raw_bodies_parse_or_give_the_validation_error(raw):
    try:
        parsed = parse_json_body(raw, limit=64 * 1024)
    except (DeliveryValidationError, PayloadTooLarge):
        return
    validate_decide_or_error = [validate_decide, validate_profile]
    for validate in validate_decide_or_error:
        with contextlib.suppress(DeliveryValidationError):
            validate(parsed)
