"""OpenAPI for the delivery API: what its hand-written validators enforce beyond what the
documenting serializers say (drf-spectacular postprocessing hook)."""

from __future__ import annotations

from typing import Any

from delivery.validation import (
    ASSIGNMENT_KEY_RE,
    ASSIGNMENT_VALUE_RE,
    MAX_ASSIGNMENT_KEY,
    MAX_ASSIGNMENTS,
)

# Request bodies refuse unknown fields (400 "Unknown field.").
CLOSED_REQUESTS = (
    "DecideRequestRequest",
    "VisitorRequest",
    "EventBatchRequest",
    "EventBatchVisitorRequest",
    "EventRequest",
    "InlineEventRequest",
    "ProfileUpsertRequest",
)


# Timestamps from 1970 (events also at most a day ahead, which no pattern can say).
YEARS_1970_TO_9998 = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-"
TIMESTAMPS = {
    "VisitorRequest": ("first_seen", "last_seen"),
    "EventRequest": ("timestamp",),
    "InlineEventRequest": ("timestamp",),
}
BODY_REQUIRED = (
    ("/api/v1/decide", "post"),
    ("/api/v1/events", "post"),
    ("/api/v1/profiles/{user_id}", "put"),
)
NOT_BLANK_NO_NUL = r"^[^\u0000]*\S[^\u0000]*$"
NOT_BLANK = {
    "VisitorRequest": ("id", "user_id"),
    "EventBatchVisitorRequest": ("id", "user_id"),
    "EventRequest": ("id", "name", "visitor_id", "user_id", "slot", "variant"),
    "InlineEventRequest": ("name",),
}


def document_delivery_rules(result: dict, generator: Any, request: Any, public: bool) -> dict:
    schemas = result.get("components", {}).get("schemas", {})
    for name in CLOSED_REQUESTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    for name, fields in NOT_BLANK.items():
        for field in fields:
            prop = schemas.get(name, {}).get("properties", {}).get(field)
            if prop is not None:
                prop["pattern"] = NOT_BLANK_NO_NUL  # blank ids and names are refused
    for name, fields in TIMESTAMPS.items():
        for field in fields:
            prop = schemas.get(name, {}).get("properties", {}).get(field)
            if prop is not None:
                prop["pattern"] = YEARS_1970_TO_9998
    assignments = schemas.get("VisitorRequest", {}).get("properties", {}).get("assignments")
    if assignments is not None:  # what delivery.validation checks of echoed assignments
        assignments["maxProperties"] = MAX_ASSIGNMENTS
        # OpenAPI 3.0 has no propertyNames: keys are experiment keys (said in the text).
        assignments["x-property-names"] = {
            "pattern": f"^{ASSIGNMENT_KEY_RE.pattern}$",
            "maxLength": MAX_ASSIGNMENT_KEY,
        }
        assignments["additionalProperties"] = {
            "type": "string",
            "pattern": f"^{ASSIGNMENT_VALUE_RE.pattern}$",
        }
    if "VisitorRequest" in schemas:
        # decide needs an anonymous id, a user id, or both
        schemas["VisitorRequest"]["anyOf"] = [_present("id"), _present("user_id")]
    events = schemas.get("EventBatchRequest", {}).get("properties", {}).get("events")
    if events is not None:
        events.update(minItems=1, maxItems=500)
    if "EventBatchRequest" in schemas:
        # every event needs a visitor: the batch's, or its own
        schemas["EventBatchRequest"]["anyOf"] = [
            {
                "required": ["visitor"],
                "properties": {
                    "visitor": {
                        "type": "object",
                        "anyOf": [_present("id"), _present("user_id")],
                    }
                },
            },
            {
                "properties": {
                    "events": {
                        "type": "array",
                        "items": {"anyOf": [_present("visitor_id"), _present("user_id")]},
                    }
                }
            },
        ]
    for path, method in BODY_REQUIRED:
        body = result.get("paths", {}).get(path, {}).get(method, {}).get("requestBody")
        if body is not None:
            body["required"] = True
    return result


def _present(field: str) -> dict:
    """`field` is there and is a non-blank string (null counts as absent)."""
    return {
        "required": [field],
        "properties": {field: {"type": "string", "pattern": NOT_BLANK_NO_NUL}},
    }
