"""Which fields may a site's criteria test? The engine's built-in field specs and paths, and
a site's field catalog (its stored rows plus any built-in it lacks), which is what the
criteria compiler validates paths, types and allowed values against."""

from __future__ import annotations

from typing import Any

from segments.criteria import BUILTIN_FIELDS
from segments.models import Field
from tenancy.models import Site


def builtin_field_specs() -> list[dict[str, Any]]:
    """The engine's built-in catalog as dicts: path, type, label, help_text, allowed_values."""
    return [
        {
            "path": path,
            "type": spec["type"],
            "label": spec["label"][:120],
            "help_text": spec["help_text"][:500],
            "allowed_values": list(spec["allowed_values"]),
        }
        for path, spec in BUILTIN_FIELDS.items()
    ]


def builtin_field_paths() -> frozenset[str]:
    return frozenset(BUILTIN_FIELDS)


def site_field_catalog(*, site: Site | int) -> list[Field]:
    """The fields to compile a site's criteria with: its rows, plus any built-in it lacks
    (as unsaved Field objects, so a site that was never seeded still works)."""
    site_id = site.pk if isinstance(site, Site) else site
    rows = list(Field.objects.filter(site_id=site_id))
    have = {f.path for f in rows}
    for spec in builtin_field_specs():
        if spec["path"] not in have:
            rows.append(Field(site_id=site_id, builtin=True, **spec))
    return rows
