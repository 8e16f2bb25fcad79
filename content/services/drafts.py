"""Draft edits: placements, screens, their variants and the site's design schema, each checked
before it is saved. Drafts never reach visitors, except that deleting a live slot takes it off
delivery; otherwise only `content.services.publishing` changes what is delivered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from content.models import ContentVariant, DesignSchema, Placement, Screen, ScreenVariant
from content.models.audit import AuditAction
from content.models.slots import PlacementKind, Slot
from content.services.audit import actor, audit_log
from content.validation import body_errors, design_errors
from segments.models import Segment
from tenancy.models import Site
from tenancy.services import site_config_bump

PLACEMENT_FIELDS = ("name", "description", "kind", "json_schema")
SCREEN_FIELDS = ("name", "description")
VARIANT_FIELDS = ("key", "name", "segment", "priority", "starts_at", "ends_at")


def _apply(instance: Any, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed here." for name in sorted(unknown)}
        )
    for name, value in data.items():
        setattr(instance, name, value)


def _save(instance: Any) -> Any:
    instance.full_clean()
    instance.save()
    return instance


# --- placements and screens ------------------------------------------------------------------


def placement_create(
    *,
    site: Site,
    key: str,
    name: str,
    kind: str = PlacementKind.HTML,
    description: str = "",
    json_schema: dict | None = None,
) -> Placement:
    return _save(
        Placement(
            site=site,
            key=key,
            name=name,
            kind=kind,
            description=description,
            json_schema=json_schema,
        )
    )


def placement_update(*, placement: Placement, data: dict[str, Any]) -> Placement:
    """Change name, description, kind or schema; every variant body must still fit."""
    _apply(placement, data, PLACEMENT_FIELDS)
    placement.full_clean()
    errors: dict[str, list[str]] = {}
    for variant in placement.variants.all():
        for path, messages in body_errors(placement, variant.body).items():
            errors.setdefault("json_schema" if "json_schema" in data else "kind", []).extend(
                f"Variant {variant.key!r} {path}: {m}" for m in messages
            )
    if errors:
        raise ValidationError(errors)
    placement.save()
    return placement


def screen_create(*, site: Site, key: str, name: str, description: str = "") -> Screen:
    return _save(Screen(site=site, key=key, name=name, description=description))


def screen_update(*, screen: Screen, data: dict[str, Any]) -> Screen:
    _apply(screen, data, SCREEN_FIELDS)
    return _save(screen)


def _slot_delete(*, slot: Slot, user: AbstractBaseUser | None) -> None:
    """Delete a slot; when it is live, delivery drops it (config bump, audit entry)."""
    with transaction.atomic():
        slot = type(slot).objects.select_for_update().get(pk=slot.pk)
        was_live = slot.live_revision_id is not None
        if was_live:  # the entry's link to the slot is cleared by the delete (SET_NULL)
            audit_log(slot=slot, action=AuditAction.DELETE, user=user, details={"name": slot.name})
        site_id = slot.site_id
        slot.delete()
        if was_live:
            site_config_bump(site_id=site_id)


def placement_delete(*, placement: Placement, user: AbstractBaseUser | None = None) -> None:
    _slot_delete(slot=placement, user=user)


def screen_delete(*, screen: Screen, user: AbstractBaseUser | None = None) -> None:
    _slot_delete(slot=screen, user=user)


# --- variants --------------------------------------------------------------------------------


def _check_segment(slot: Slot, segment: Segment | None) -> None:
    if segment is not None and segment.site_id != slot.site_id:
        raise ValidationError({"segment": "Choose a segment of the same site."})


def content_variant_create(
    *,
    placement: Placement,
    key: str,
    name: str,
    body: str = "",
    segment: Segment | None = None,
    priority: int = 100,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> ContentVariant:
    """A variant of a placement; `segment=None` makes it the default (one per placement)."""
    _check_segment(placement, segment)
    return _save(
        ContentVariant(
            placement=placement,
            key=key,
            name=name,
            body=body,
            segment=segment,
            priority=priority,
            starts_at=starts_at,
            ends_at=ends_at,
        )
    )


def content_variant_update(*, variant: ContentVariant, data: dict[str, Any]) -> ContentVariant:
    _apply(variant, data, (*VARIANT_FIELDS, "body"))
    _check_segment(variant.placement, variant.segment)
    return _save(variant)


def content_variant_delete(*, variant: ContentVariant) -> None:
    variant.delete()


def screen_variant_create(
    *,
    screen: Screen,
    key: str,
    name: str,
    design: dict,
    segment: Segment | None = None,
    priority: int = 100,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> ScreenVariant:
    _check_segment(screen, segment)
    return _save(
        ScreenVariant(
            screen=screen,
            key=key,
            name=name,
            design=design,
            segment=segment,
            priority=priority,
            starts_at=starts_at,
            ends_at=ends_at,
        )
    )


def screen_variant_update(*, variant: ScreenVariant, data: dict[str, Any]) -> ScreenVariant:
    _apply(variant, data, (*VARIANT_FIELDS, "design"))
    _check_segment(variant.screen, variant.segment)
    return _save(variant)


def screen_variant_delete(*, variant: ScreenVariant) -> None:
    variant.delete()


# --- design schema ---------------------------------------------------------------------------


def design_schema_update(
    *, site: Site, schema: dict, user: AbstractBaseUser | None = None
) -> DesignSchema:
    """Replace the site's design schema; refused when a current design would no longer fit."""
    row = DesignSchema.objects.filter(site=site).first() or DesignSchema(site=site)
    row.schema = schema
    row.updated_by = actor(user=user)
    row.full_clean()
    with transaction.atomic():
        row.save()
        problems = []
        for variant in ScreenVariant.objects.filter(screen__site=site).select_related("screen"):
            for path, messages in design_errors(site, variant.design).items():
                problems += [f"{variant.screen.key}/{variant.key} {path}: {m}" for m in messages]
        if problems:
            raise ValidationError({"schema": problems[:20]})
    return row
