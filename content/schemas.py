"""The JSON Schemas that content ships (the default screen design schema, the image body
schema) and generic JSON Schema helpers: an instance's errors keyed by JSON path, whether a
schema is itself valid, and the pretty JSON that diffs and previews show. What a body or a
design may be is decided in `content.validation`, which uses these.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

DEFAULT_DESIGN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Screen design",
    "description": "A component tree (type, props, children per node) plus theme tokens.",
    "type": "object",
    "required": ["root"],
    "additionalProperties": False,
    "properties": {
        "root": {"$ref": "#/$defs/component"},
        "theme": {"$ref": "#/$defs/theme"},
        "meta": {"type": "object"},
    },
    "$defs": {
        "component": {
            "type": "object",
            "required": ["type"],
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"},
                "id": {"type": "string", "maxLength": 100},
                "props": {"type": "object"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/component"}},
            },
        },
        "token": {"type": ["string", "number", "boolean"]},
        "theme": {
            "type": "object",
            "description": "Design tokens: groups (colors, spacing, typography…) of named values.",
            "additionalProperties": {
                "anyOf": [
                    {"$ref": "#/$defs/token"},
                    {"type": "object", "additionalProperties": {"$ref": "#/$defs/token"}},
                ]
            },
        },
    },
}

IMAGE_BODY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["src", "href"],
    "additionalProperties": False,
    "properties": {
        "src": {"type": "string", "minLength": 1, "maxLength": 2000},
        "alt": {"type": "string", "maxLength": 500},
        "href": {"type": "string", "minLength": 1, "maxLength": 2000},
        "title": {"type": "string", "maxLength": 500},
    },
}


def default_design_schema() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT_DESIGN_SCHEMA)


def json_path(parts: Iterable[Any], root: str = "") -> str:
    """`["items", 0, "title"]` → `items[0].title` (with `root` prefixed as its first part)."""
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def schema_errors(instance: Any, schema: dict[str, Any], root: str = "") -> list[tuple[str, str]]:
    """Every violation of `schema` as (path, message), sorted by path; [] when valid."""
    validator = Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return [(json_path(e.absolute_path, root), e.message) for e in errors[:50]]


def check_schema(schema: Any) -> str | None:
    """A message when `schema` is not a usable JSON Schema, else None."""
    if not isinstance(schema, dict):
        return "A JSON Schema must be an object."
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = json_path(exc.absolute_path)
        return f"{where}: {exc.message}" if where else exc.message
    return None


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
