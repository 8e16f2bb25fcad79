"""Validation of what editors save: variant bodies (size, JSON, schema, safe image links),
screen designs (size, the site's design schema) and the JSON Schemas themselves, with errors
keyed by JSON path (`body.items[0]`, `design.root.type`); also `body_value`, how a stored body
is delivered. Models call these from `clean()` and the draft services reuse them to re-check
every variant when a schema changes. The models import this module at load time, so it
imports them inside the functions that need them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from content.schemas import IMAGE_BODY_SCHEMA, check_schema, default_design_schema, schema_errors
from tenancy.models import Site

if TYPE_CHECKING:
    from content.models.slots import Placement

# Bodies and designs larger than this (UTF-8 bytes of their JSON / text) are refused.
MAX_BODY_BYTES = 64 * 1024
MAX_DESIGN_BYTES = 256 * 1024
MAX_SCHEMA_BYTES = 64 * 1024


def byte_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def is_safe_url(url: str) -> bool:
    """http(s) URLs and site-relative paths only (no `javascript:`, `data:`…)."""
    url = url.strip()
    if url.startswith("/") and not url.startswith("//"):
        return True
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def schema_problem(schema: Any) -> str | None:
    """Why `schema` cannot constrain bodies or designs (too large, not a JSON Schema), or None."""
    if byte_size(schema) > MAX_SCHEMA_BYTES:
        return _("Schemas are limited to %(kb)s KB.") % {"kb": MAX_SCHEMA_BYTES // 1024}
    problem = check_schema(schema)
    if problem:
        return _("Not a valid JSON Schema: %(problem)s") % {"problem": problem}
    return None


def body_value(kind: str, body: str) -> Any:
    """What delivery sends: text for HTML/text placements, parsed JSON otherwise."""
    from content.models.slots import PlacementKind

    if kind in (PlacementKind.JSON, PlacementKind.IMAGE):
        return json.loads(body) if body.strip() else None
    return body


def body_errors(placement: Placement, body: str) -> dict[str, list[str]]:
    """Problems of a variant body for this placement, keyed by path (`body`, `body.items[0]`)."""
    from content.models.slots import PlacementKind

    size = byte_size(body)
    if size > MAX_BODY_BYTES:
        message = _("The body is %(size)s bytes; the limit is %(kb)s KB.")
        return {"body": [message % {"size": size, "kb": MAX_BODY_BYTES // 1024}]}
    if placement.kind not in (PlacementKind.JSON, PlacementKind.IMAGE):
        return {}
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        message = _("Not valid JSON: %(error)s (line %(line)s, column %(column)s).")
        return {"body": [message % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}]}
    schema = IMAGE_BODY_SCHEMA if placement.kind == PlacementKind.IMAGE else placement.json_schema
    errors: dict[str, list[str]] = {}
    if schema:
        for path, message in schema_errors(value, schema, root="body"):
            errors.setdefault(path, []).append(message)
    if placement.kind == PlacementKind.IMAGE and not errors:
        for part in ("src", "href"):
            if not is_safe_url(value[part]):
                errors[f"body.{part}"] = [_("Use an http(s) URL or a path starting with /.")]
    return errors


def design_schema_for(site: Site | int) -> dict[str, Any]:
    """The site's design schema; the default one when the site has none stored."""
    from content.models.design_schema import DesignSchema

    site_id = site.pk if isinstance(site, Site) else site
    row = DesignSchema.objects.filter(site_id=site_id).values_list("schema", flat=True).first()
    return row if row else default_design_schema()


def design_errors(site: Site | int, design: Any) -> dict[str, list[str]]:
    """Problems of a screen design for this site's schema, keyed by path (`design.root.type`)."""
    size = byte_size(design)
    if size > MAX_DESIGN_BYTES:
        message = _("The design is %(size)s bytes; the limit is %(kb)s KB.")
        return {"design": [message % {"size": size, "kb": MAX_DESIGN_BYTES // 1024}]}
    errors: dict[str, list[str]] = {}
    for path, message in schema_errors(design, design_schema_for(site), root="design"):
        errors.setdefault(path, []).append(message)
    return errors
