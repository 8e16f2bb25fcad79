"""Who an experiment or optimization unit is: the people a bucketed id belongs to, and the
events sent under it or by those people."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from analytics.metrics import UnitEvent
from segments.models import Event, Profile, VisitorLink

CHUNK = 500


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def unit_profiles(*, site_id: int, unit_ids: Sequence[str]) -> dict[str, set[int]]:
    """The people each unit id belongs to: the profile whose bucketing id it is, or to which
    it is linked as an anonymous id."""
    out: dict[str, set[int]] = defaultdict(set)
    for chunk in chunks(unit_ids):
        for pk, bid in Profile.objects.filter(site_id=site_id, bucketing_id__in=chunk).values_list(
            "pk", "bucketing_id"
        ):
            out[bid].add(pk)
        for vid, pid in VisitorLink.objects.filter(
            site_id=site_id, visitor_id__in=chunk
        ).values_list("visitor_id", "profile_id"):
            out[vid].add(pid)
    return out


def unit_named_events(
    *, site_id: int, unit_ids: Sequence[str], names: set[str], start: datetime, end: datetime
) -> dict[str, list[UnitEvent]]:
    """Each unit's events of the given names in [start, end): those sent under the unit id
    and those of the people it belongs to (a visitor who signs in keeps their conversions),
    each event once per unit."""
    if not unit_ids or not names:
        return {}
    units = set(unit_ids)
    units_of_profile: dict[int, list[str]] = defaultdict(list)
    for unit_id, pids in unit_profiles(site_id=site_id, unit_ids=sorted(units)).items():
        for pid in pids:
            units_of_profile[pid].append(unit_id)
    base = Event.objects.filter(
        site_id=site_id, name__in=names, occurred_at__gte=start, occurred_at__lt=end
    )
    columns = ("pk", "visitor_id", "profile_id", "name", "properties", "occurred_at")
    rows: list[tuple[Any, ...]] = []
    for chunk in chunks(sorted(units)):
        rows.extend(base.filter(visitor_id__in=chunk).values_list(*columns))
    for chunk in chunks(sorted(units_of_profile)):
        rows.extend(base.filter(profile_id__in=chunk).values_list(*columns))
    seen: set[int] = set()
    events: dict[str, list[UnitEvent]] = defaultdict(list)
    for pk, vid, pid, name, props, at in rows:
        if pk in seen:
            continue
        seen.add(pk)
        owners = set(units_of_profile.get(pid, ())) if pid else set()
        if vid in units:
            owners.add(vid)
        for owner in owners:
            events[owner].append(UnitEvent(name, props or {}, at))
    return events
