"""Draft edits: placements, screens, their variants (with their translations) and the site's
design schema, each checked before it is saved. Drafts never reach visitors, except that
deleting a live slot takes it off delivery; otherwise only `content.services.publishing`
changes what is delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from content.models import (
    ContentVariant,
    ContentVariantTranslation,
    DesignSchema,
    Placement,
    Screen,
    ScreenVariant,
    ScreenVariantTranslation,
)
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
    field = "json_schema" if "json_schema" in data else "kind"
    for variant in placement.variants.prefetch_related("translations"):
        versions = [("", variant.body)]
        versions += [(f" [{t.language}]", t.body) for t in variant.translations.all()]
        for language, body in versions:
            for path, messages in body_errors(placement, body).items():
                errors.setdefault(field, []).extend(
                    f"Variant {variant.key!r}{language} {path}: {m}" for m in messages
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
    translations: Mapping[str, Mapping[str, Any]] | None = None,
) -> ContentVariant:
    """A variant of a placement; `segment=None` makes it the default (one per placement).

    `translations`: its body in other languages, `{"fr": {"body": ...}}`.
    """
    _check_segment(placement, segment)
    variant = ContentVariant(
        placement=placement,
        key=key,
        name=name,
        body=body,
        segment=segment,
        priority=priority,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return _save_with_translations(variant, translations)


def content_variant_update(*, variant: ContentVariant, data: dict[str, Any]) -> ContentVariant:
    """Change fields; `translations` in `data` replaces all of them."""
    return _variant_update(variant, data, "body")


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
    translations: Mapping[str, Mapping[str, Any]] | None = None,
) -> ScreenVariant:
    """A design of a screen; `translations`: the design in other languages,
    `{"fr": {"design": {...}}}`."""
    _check_segment(screen, segment)
    variant = ScreenVariant(
        screen=screen,
        key=key,
        name=name,
        design=design,
        segment=segment,
        priority=priority,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return _save_with_translations(variant, translations)


def screen_variant_update(*, variant: ScreenVariant, data: dict[str, Any]) -> ScreenVariant:
    """Change fields; `translations` in `data` replaces all of them."""
    return _variant_update(variant, data, "design")


# --- translations ----------------------------------------------------------------------------


def _variant_update(variant: Any, data: dict[str, Any], content_field: str) -> Any:
    data = dict(data)
    translations = data.pop("translations", None)
    _apply(variant, data, (*VARIANT_FIELDS, content_field))
    _check_segment(variant.parent, variant.segment)
    return _save_with_translations(variant, translations)


def _save_with_translations(
    variant: ContentVariant | ScreenVariant, translations: Mapping[str, Any] | None
) -> Any:
    """Save the variant and, when given, replace its translations: all or nothing."""
    variant.full_clean()
    with transaction.atomic():
        variant.save()
        if translations is not None:
            variant_translations_set(variant=variant, translations=translations)
    return variant


def variant_translations_set(
    *, variant: ContentVariant | ScreenVariant, translations: Mapping[str, Any]
) -> list[ContentVariantTranslation] | list[ScreenVariantTranslation]:
    """Replace a saved variant's translations with `translations`, keyed by language:
    `{"fr": {"body": ...}}` for a content variant, `{"fr": {"design": {...}}}` for a screen
    variant. Each is checked like the base body or design; errors are keyed
    `translations.<language>.<path>` (`translations.fr.body.src`)."""
    if isinstance(variant, ContentVariant):
        model, field, empty = ContentVariantTranslation, "body", ""
    else:
        model, field, empty = ScreenVariantTranslation, "design", {}
    errors: dict[str, list[str]] = {}
    if not isinstance(translations, Mapping):
        raise ValidationError({"translations": ["Give an object keyed by language."]})
    rows, seen = [], set()
    for language, content in translations.items():
        path = f"translations.{language}"
        if not isinstance(content, Mapping) or set(content) - {field}:
            errors[path] = [f'Give {{"{field}": ...}} for each language.']
            continue
        row = model(variant=variant, language=language, **{field: content.get(field, empty)})
        try:
            row.full_clean(exclude=["variant"], validate_constraints=False)  # all are replaced
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(path if name == "__all__" else f"{path}.{name}", []).extend(
                    messages
                )
            continue
        if row.language.lower() in seen:
            errors.setdefault(f"{path}.language", []).append(f"{row.language} is given twice.")
        seen.add(row.language.lower())
        rows.append(row)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        variant.translations.all().delete()
        return model.objects.bulk_create(rows)


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
        variants = (
            ScreenVariant.objects.filter(screen__site=site)
            .select_related("screen")
            .prefetch_related("translations")
        )
        for variant in variants:
            versions = [("", variant.design)]
            versions += [(f" [{t.language}]", t.design) for t in variant.translations.all()]
            for language, design in versions:
                for path, messages in design_errors(site, design).items():
                    problems += [
                        f"{variant.screen.key}/{variant.key}{language} {path}: {m}"
                        for m in messages
                    ]
        if problems:
            raise ValidationError({"schema": problems[:20]})
    return row
