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


# Swagger UI groups operations by tag, in the order of the top-level `tags` list: the
# delivery API comes first (what integrators read), then the management API by layer.
# Tags follow the path so that an endpoint added later lands in its group without a
# decorator; the first matching prefix wins.
OPERATION_TAGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "delivery",
        "What a visitor gets and what they did: `decide`, `events` (delivery or server key) "
        "and stored `profiles` (server key only).",
        ("/api/v1/decide", "/api/v1/events", "/api/v1/profiles/"),
    ),
    (
        "segments",
        "The field catalog, segments, their members, CSV uploads and exports (as background "
        "jobs with progress), and the builder's live preview.",
        ("/api/v1/fields/", "/api/v1/segments", "/api/v1/segment-jobs/"),
    ),
    (
        "content",
        "Placements, screens, their variants and design schemas; publishing, schedules, "
        "revisions, rollback and the audit log.",
        (
            "/api/v1/placements/",
            "/api/v1/placement-variants/",
            "/api/v1/screens/",
            "/api/v1/screen-variants/",
            "/api/v1/design-schemas/",
            "/api/v1/content-schedules/",
            "/api/v1/content-audit/",
        ),
    ),
    ("analytics", "Metrics reported on slots and variants.", ("/api/v1/metrics/",)),
    (
        "experiments",
        "A/B/n tests and bandits: layers, experiments with their arms, metrics and phases "
        "(start, pause, resume, stop, re-weight), results, and the site's global holdout; "
        "one-to-one optimizations (eligible arms, start, pause, resume, stop, train now) and "
        "their model versions.",
        ("/api/v1/experiments/", "/api/v1/layers/", "/api/v1/holdout/", "/api/v1/optimizations/"),
    ),
    (
        "tenancy",
        "Sites, API keys (create, rotate, revoke, `whoami`) and per-site roles.",
        ("/api/v1/sites/", "/api/v1/api-keys/", "/api/v1/roles/", "/api/v1/whoami"),
    ),
)
OTHER_TAG = "other"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

API_KEY_DESCRIPTION = """\
Send the header `Authorization: Api-Key <key>`: the word `Api-Key`, one space, then the \
key exactly as it was shown (for example `Authorization: Api-Key pk_3fQ…`). A missing \
prefix, `Bearer`, or a key alone is refused with 401 `api_key_malformed`. In Swagger UI's \
*Authorize* dialog, paste the whole value, prefix included: `Api-Key <key>`.

A key belongs to one site and is one of two kinds:

| prefix | kind | where it may live | endpoints |
|---|---|---|---|
| `pk_` | public delivery key | browsers and mobile apps | `decide`, `events` |
| `sk_` | secret server key | your servers only | `decide`, `events`, `profiles` |

Create keys in the admin (*Sites and access → API keys → Add API key*), or with \
`POST /api/v1/api-keys/` \
while signed in to the admin. A key is shown once, when created or rotated; only its \
digest is stored. `GET /api/v1/whoami` tells which site and kind a key is.

The management API (segments, content, analytics, experiments, tenancy) is for people \
signed in to the admin (session cookie and CSRF token), not for API keys."""


def operation_tag(path: str) -> str:
    for tag, _description, prefixes in OPERATION_TAGS:
        if path.startswith(prefixes):
            return tag
    return OTHER_TAG


def group_operations_by_tag(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """One tag per operation, from its path; tags and paths in the order of OPERATION_TAGS."""
    order = {tag: index for index, (tag, _d, _p) in enumerate(OPERATION_TAGS)}
    paths = result.get("paths", {})
    used: set[str] = set()
    for path, item in paths.items():
        tag = operation_tag(path)
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                item[method]["tags"] = [tag]
                used.add(tag)
    result["paths"] = dict(
        sorted(paths.items(), key=lambda kv: (order.get(operation_tag(kv[0]), len(order)), kv[0]))
    )
    tags = [
        {"name": tag, "description": description}
        for tag, description, _p in OPERATION_TAGS
        if tag in used
    ]
    if OTHER_TAG in used:
        tags.append({"name": OTHER_TAG, "description": "Everything else."})
    result["tags"] = tags
    scheme = result.get("components", {}).get("securitySchemes", {}).get("ApiKeyAuth")
    if scheme is not None:
        scheme["description"] = API_KEY_DESCRIPTION
    return result
