"""Writes for segments: create, update (with history), archive, delete, snapshot."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from segments.models import (
    Profile,
    Segment,
    SegmentKind,
    SegmentRevision,
    SegmentStatus,
    StaticMember,
    StaticSource,
)
from segments.selectors.definitions import criteria_compile, criteria_segment_refs, segment_rule
from segments.services.counters import counter_specs_sync
from tenancy.models import Site
from tenancy.services import site_config_bump

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
SNAPSHOT_BATCH = 5000


def segment_config_changed(*, segment: Segment, was_active: bool = False) -> None:
    """Tell delivery to rebuild the site's snapshot when an active segment changed, and
    bring the site's behavioural counters in line with its active segments (a new event
    condition's counter is backfilled in the background)."""
    if was_active or segment.status == SegmentStatus.ACTIVE:
        site_config_bump(site_id=segment.site_id)
        counter_specs_sync(site_id=segment.site_id)


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def segment_validate_criteria(*, site: Site | int, criteria: Any, key: str | None = None) -> None:
    """Raise CriteriaError (with a JSON path) unless the tree compiles for this site."""
    criteria_compile(site=site, tree=criteria, segment_key=key)


def _record(
    segment: Segment, *, changed_by: AbstractBaseUser | None, summary: str
) -> SegmentRevision:
    return SegmentRevision.objects.create(
        segment=segment,
        criteria=segment.criteria,
        name=segment.name,
        status=segment.status,
        changed_by=_user(changed_by),
        changed_at=timezone.now(),
        summary=summary[:500],
    )


def segment_create(
    *,
    site: Site,
    key: str,
    name: str,
    description: str = "",
    kind: str = SegmentKind.DYNAMIC,
    criteria: dict | None = None,
    status: str = SegmentStatus.DRAFT,
    created_by: AbstractBaseUser | None = None,
    static_source: str = "",
) -> Segment:
    """Create a segment. Dynamic criteria are validated against the site's catalog."""
    key = (key or "").strip()
    if not KEY_PATTERN.match(key):
        raise ValidationError(
            {
                "key": "Use lowercase letters, digits, '-' and '_' (at most 100), "
                "e.g. 'loyal-customers'."
            }
        )
    if kind not in SegmentKind.values:
        raise ValidationError({"kind": f"{kind!r} is not a segment kind."})
    if status not in SegmentStatus.values:
        raise ValidationError({"status": f"{status!r} is not a status."})
    if Segment.objects.filter(site=site, key=key).exists():
        raise ValidationError({"key": f"The site already has a segment {key!r}."})
    if kind == SegmentKind.STATIC:
        criteria = {}
        static_source = static_source or StaticSource.UPLOAD
    else:
        criteria = {"all": []} if criteria is None else criteria
        static_source = ""
        segment_validate_criteria(site=site, criteria=criteria, key=key)
    segment = Segment(
        site=site,
        key=key,
        name=name,
        description=description,
        kind=kind,
        static_source=static_source,
        criteria=criteria,
        status=status,
        created_by=_user(created_by),
    )
    segment.full_clean(exclude=["criteria", "snapshot_of"])
    with transaction.atomic():
        try:
            with transaction.atomic():
                segment.save()
        except IntegrityError as exc:  # created concurrently since the check above
            raise ValidationError({"key": f"The site already has a segment {key!r}."}) from exc
        _record(segment, changed_by=created_by, summary="Created")
        segment_config_changed(segment=segment)
    return segment


def segment_update(
    *,
    segment: Segment,
    changed_by: AbstractBaseUser | None = None,
    name: str | None = None,
    description: str | None = None,
    criteria: dict | None = None,
    status: str | None = None,
    summary: str = "",
) -> Segment:
    """Change a segment. Every change of criteria, name or status is recorded in its history."""
    changes: list[str] = []
    was_active = segment.status == SegmentStatus.ACTIVE
    if criteria is not None and criteria != segment.criteria:
        if segment.kind == SegmentKind.STATIC:
            raise ValidationError(
                {"criteria": "A static segment has no criteria; upload user ids."}
            )
        segment_validate_criteria(site=segment.site_id, criteria=criteria, key=segment.key)
        segment.criteria = criteria
        changes.append("criteria changed")
    if name is not None and name != segment.name:
        changes.append(f"name {segment.name!r} → {name!r}")
        segment.name = name
    if status is not None and status != segment.status:
        if status not in SegmentStatus.values:
            raise ValidationError({"status": f"{status!r} is not a status."})
        if status == SegmentStatus.ACTIVE and segment.kind == SegmentKind.DYNAMIC:
            # Re-check: the catalog or a referenced segment may have changed since.
            segment_validate_criteria(
                site=segment.site_id, criteria=segment.criteria, key=segment.key
            )
        changes.append(f"status {segment.status} → {status}")
        segment.status = status
    described = description is not None and description != segment.description
    if described:
        segment.description = description
    if not changes and not described:
        return segment
    segment.full_clean(exclude=["criteria", "snapshot_of", "site", "key"])
    with transaction.atomic():
        segment.save()
        if changes:
            text = summary or "; ".join(changes)
            _record(segment, changed_by=changed_by, summary=text[:1].upper() + text[1:])
            segment_config_changed(segment=segment, was_active=was_active)
    return segment


def segment_archive(*, segment: Segment, changed_by: AbstractBaseUser | None = None) -> Segment:
    return segment_update(segment=segment, status=SegmentStatus.ARCHIVED, changed_by=changed_by)


def segments_referencing(*, segment: Segment) -> list[str]:
    """Keys of other segments of the site whose criteria reference this one."""
    return sorted(
        key
        for key, criteria in Segment.objects.filter(site_id=segment.site_id)
        .exclude(pk=segment.pk)
        .values_list("key", "criteria")
        if segment.key in criteria_segment_refs(tree=criteria)
    )


def segment_delete(*, segment: Segment) -> None:
    """Delete a segment that no other segment references (archive it otherwise)."""
    users = segments_referencing(segment=segment)
    if users:
        raise ValidationError(
            f"Segments reference {segment.key!r}: {', '.join(users[:10])}. Change them first."
        )
    with transaction.atomic():
        segment.delete()
        segment_config_changed(segment=segment)


def _unique_key(site_id: int, base: str) -> str:
    base = base[:90].rstrip("-_") or "snapshot"
    key, n = base, 1
    while Segment.objects.filter(site_id=site_id, key=key).exists():
        n += 1
        key = f"{base}-{n}"
    return key


def segment_snapshot(
    *,
    segment: Segment,
    key: str | None = None,
    name: str | None = None,
    created_by: AbstractBaseUser | None = None,
) -> Segment:
    """Freeze who matches a dynamic segment now into a new static segment."""
    if segment.kind != SegmentKind.DYNAMIC:
        raise ValidationError("Only a dynamic segment can be snapshotted.")
    now = timezone.now()
    rule = segment_rule(segment=segment, now=now)
    key = key or _unique_key(segment.site_id, f"{segment.key}-{now:%Y%m%d-%H%M}")
    name = name or f"{segment.name} (snapshot {now:%Y-%m-%d %H:%M})"
    with transaction.atomic():
        snapshot = segment_create(
            site=segment.site,
            key=key,
            name=name[:200],
            description=f"Members of {segment.key!r} on {now:%Y-%m-%d %H:%M} UTC.",
            kind=SegmentKind.STATIC,
            static_source=StaticSource.SNAPSHOT,
            status=SegmentStatus.ACTIVE
            if segment.status == SegmentStatus.ACTIVE
            else SegmentStatus.DRAFT,
            created_by=created_by,
        )
        snapshot.snapshot_of = segment
        snapshot.save(update_fields=["snapshot_of"])
        user_ids = (
            Profile.objects.filter(site_id=segment.site_id)
            .filter(rule.to_q())
            .order_by("pk")
            .values_list("user_id", flat=True)
        )
        batch: list[StaticMember] = []
        total = 0
        for user_id in user_ids.iterator(chunk_size=SNAPSHOT_BATCH):
            batch.append(StaticMember(segment=snapshot, user_id=user_id, added_at=now))
            if len(batch) >= SNAPSHOT_BATCH:
                StaticMember.objects.bulk_create(batch)
                total += len(batch)
                batch = []
        StaticMember.objects.bulk_create(batch)
        total += len(batch)
        _record(
            snapshot, changed_by=created_by, summary=f"Snapshot of {segment.key}: {total} members"
        )
    return snapshot
