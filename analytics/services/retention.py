"""Retention: each site keeps events and visitor data for `Site.retention_days`, then a
daily task deletes them. Rollups are kept: they hold counts and sums, never a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from segments.models import Event, Profile, VisitorLink
from segments.services.counters import counters_purge
from tenancy.models import Site

CHUNK = 5000  # rows deleted per statement, so a big purge does not hold long locks


@dataclass(frozen=True)
class Purge:
    site_id: int
    cutoff: datetime
    events: int
    profiles: int
    visitor_links: int


def retention_cutoff(*, site: Site, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=site.retention_days)


def delete_in_chunks(queryset) -> int:
    """Delete a queryset CHUNK rows per statement and transaction; the rows deleted."""
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += (
                queryset.model.objects.filter(pk__in=ids)
                .delete()[1]
                .get(queryset.model._meta.label, 0)
            )


def retention_purge(*, site: Site, now: datetime | None = None) -> Purge:
    """Delete the site's events older than its retention (and their timestamps in the
    behavioural counters), and the people (profiles, with their links, events and
    counters) not seen within it."""
    cutoff = retention_cutoff(site=site, now=now)
    events = delete_in_chunks(Event.objects.filter(site=site, occurred_at__lt=cutoff))
    # Behavioural counters name when a person did something: theirs age out with the events.
    counters_purge(site_id=site.pk, before=cutoff)
    stale = Profile.objects.filter(site=site, last_seen__lt=cutoff)
    links = VisitorLink.objects.filter(site=site, profile__in=stale).count()
    profiles = 0
    while ids := list(stale.values_list("pk", flat=True)[:CHUNK]):
        with transaction.atomic():
            counts = Profile.objects.filter(pk__in=ids).delete()[1]  # links, events cascade
        profiles += counts.get(Profile._meta.label, 0)
        events += counts.get(Event._meta.label, 0)
    return Purge(site.pk, cutoff, events, profiles, links)


def retention_purge_all(*, now: datetime | None = None) -> list[Purge]:
    return [retention_purge(site=site, now=now) for site in Site.objects.all()]
