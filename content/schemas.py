"""JSON Schemas used by content, and validation that reports errors by JSON path."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

# Bodies and designs larger than this (UTF-8 bytes of their JSON / text) are refused.
MAX_BODY_BYTES = 64 * 1024
MAX_DESIGN_BYTES = 256 * 1024
MAX_SCHEMA_BYTES = 64 * 1024

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


def byte_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
