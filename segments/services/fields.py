"""Writes for the per-site field catalog."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from segments.models import Field, FieldType, Segment
from segments.selectors.catalog import builtin_field_paths, builtin_field_specs
from segments.selectors.definitions import criteria_field_refs
from tenancy.models import Site
from tenancy.services import site_config_bump

CUSTOM_PREFIXES = ("profile.", "context.")
PATH_PATTERN = re.compile(r"^(profile|context)(\.[A-Za-z_][A-Za-z0-9_]{0,62}){1,4}$")
MAX_ALLOWED_VALUES = 1000
MAX_ALLOWED_VALUE_LENGTH = 200


def field_catalog_seed(*, site: Site) -> int:
    """Add the built-in fields a site is missing, and keep seeded ones in step. Idempotent.

    Returns how many fields were added.
    """
    specs = builtin_field_specs()
    with transaction.atomic():
        existing = {f.path: f for f in Field.objects.filter(site=site)}
        missing = [
            Field(site=site, builtin=True, **spec) for spec in specs if spec["path"] not in existing
        ]
        Field.objects.bulk_create(missing, ignore_conflicts=True)
        for spec in specs:
            field = existing.get(spec["path"])
            if field is None:
                continue
            # A built-in's path and type belong to the engine; a custom field that now
            # collides with a new built-in becomes that built-in.
            if field.type != spec["type"] or not field.builtin:
                field.type = spec["type"]
                field.builtin = True
                field.save(update_fields=["type", "builtin"])
    return len(missing)


def _default_label(path: str) -> str:
    """The label of a field created without one: profile.store_id → "Store id"."""
    return path.split(".", 1)[1].replace("_", " ").capitalize()


def _validate_allowed_values(type_: str, allowed_values: list[Any]) -> list[Any]:
    if not isinstance(allowed_values, list):
        raise ValidationError({"allowed_values": "Allowed values must be a list."})
    if len(allowed_values) > MAX_ALLOWED_VALUES:
        raise ValidationError(
            {"allowed_values": f"At most {MAX_ALLOWED_VALUES} allowed values are supported."}
        )
    if allowed_values and type_ not in (FieldType.ENUM, FieldType.LIST):
        raise ValidationError({"allowed_values": "Only enum and list fields have allowed values."})
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in allowed_values:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError({"allowed_values": "Allowed values must be non-empty strings."})
        if len(value) > MAX_ALLOWED_VALUE_LENGTH:
            raise ValidationError(
                {"allowed_values": f"{value[:20]!r}… is longer than {MAX_ALLOWED_VALUE_LENGTH}."}
            )
        if value.lower() in seen:
            raise ValidationError({"allowed_values": f"{value!r} is listed twice."})
        seen.add(value.lower())
        cleaned.append(value)
    if type_ == FieldType.ENUM and not cleaned:
        raise ValidationError({"allowed_values": "An enum field needs at least one allowed value."})
    return cleaned


def _validate_path(path: str) -> str:
    path = (path or "").strip()
    if not path.startswith(CUSTOM_PREFIXES):
        raise ValidationError(
            {"path": "A custom field's path starts with 'profile.' or 'context.'."}
        )
    if not PATH_PATTERN.match(path):
        raise ValidationError(
            {
                "path": "Use letters, digits and underscores separated by dots, e.g. "
                "'profile.plan' or 'context.store_id'."
            }
        )
    if path in builtin_field_paths():
        raise ValidationError({"path": f"{path!r} is a built-in field."})
    return path


def field_validate(
    *,
    site: Site | int,
    path: str,
    type: str,
    allowed_values: list[Any] | None = None,
    field: Field | None = None,
) -> list[Any]:
    """Check a new field (or a change to `field`); returns the cleaned allowed values.

    Raises ValidationError with a dict of messages by form field."""
    if field is None:
        path = _validate_path(path)
        if Field.objects.filter(site=site, path=path).exists():
            raise ValidationError({"path": f"The site already has a field {path!r}."})
    if type not in FieldType.values:
        raise ValidationError({"type": f"{type!r} is not a field type."})
    if field is not None and type != field.type:
        if field.builtin:
            raise ValidationError({"type": "The type of a built-in field cannot be changed."})
        users = segments_using_field(field=field)
        if users:
            raise ValidationError(
                {"type": f"Segments use this field: {', '.join(users[:10])}. Change them first."}
            )
    values = allowed_values or []
    if field is not None and field.builtin and type not in (FieldType.ENUM, FieldType.LIST):
        values = []
    return _validate_allowed_values(type, values)


def field_create(
    *,
    site: Site,
    path: str,
    type: str,
    label: str = "",
    help_text: str = "",
    allowed_values: list[Any] | None = None,
) -> Field:
    """Add a custom field to a site's catalog."""
    path = (path or "").strip()
    allowed = field_validate(site=site, path=path, type=type, allowed_values=allowed_values)
    field = Field(
        site=site,
        path=path,
        type=type,
        label=(label or _default_label(path))[:120],
        help_text=help_text,
        allowed_values=allowed,
        builtin=False,
    )
    field.full_clean()
    try:
        with transaction.atomic():
            field.save()
            site_config_bump(site_id=field.site_id)  # segments compile against the catalog
    except IntegrityError as exc:  # created concurrently since the check
        raise ValidationError({"path": f"The site already has a field {path!r}."}) from exc
    return field


def field_update(
    *,
    field: Field,
    type: str | None = None,
    label: str | None = None,
    help_text: str | None = None,
    allowed_values: list[Any] | None = None,
) -> Field:
    """Change a field. A built-in field keeps its path and type; its texts and values may change."""
    new_type = field.type if type is None else type
    values = field.allowed_values if allowed_values is None else allowed_values
    field.allowed_values = field_validate(
        site=field.site_id, path=field.path, type=new_type, allowed_values=values, field=field
    )
    field.type = new_type
    if label is not None:
        field.label = label or _default_label(field.path)
    if help_text is not None:
        field.help_text = help_text
    field.full_clean()
    with transaction.atomic():
        field.save()
        site_config_bump(site_id=field.site_id)  # segments compile against the catalog
    return field


def field_delete(*, field: Field) -> None:
    """Remove a custom field. Built-ins and fields that segments use stay."""
    if field.builtin:
        raise ValidationError("Built-in fields cannot be deleted.")
    users = segments_using_field(field=field)
    if users:
        raise ValidationError(
            f"Segments use {field.path}: {', '.join(users[:10])}. Change them before deleting it."
        )
    with transaction.atomic():
        field.delete()
        site_config_bump(site_id=field.site_id)


def segments_using_field(*, field: Field) -> list[str]:
    """Keys of the site's segments whose criteria mention the field."""
    return [
        key
        for key, criteria in Segment.objects.filter(site_id=field.site_id).values_list(
            "key", "criteria"
        )
        if field.path in criteria_field_refs(tree=criteria)
    ]
