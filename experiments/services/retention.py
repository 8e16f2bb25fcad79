"""Retention of experiments' and optimizations' per-visitor rows: each first exposure
(`Assignment`) and each logged policy decision (`PolicyDecision`) names a visitor id, so it
is kept for the site's `retention_days` like events and profiles (analytics.services.retention),
then deleted by the same periodic purge. Results rollups are kept: they hold counts and
sums, never a visitor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.services.retention import delete_in_chunks, retention_cutoff
from experiments.models import Assignment, PolicyDecision
from tenancy.models import Site


@dataclass(frozen=True)
class ExperimentsPurge:
    site_id: int
    cutoff: datetime
    assignments: int
    decisions: int


def experiments_retention_purge(*, site: Site, now: datetime | None = None) -> ExperimentsPurge:
    """Delete the site's assignments first exposed, and decisions made, before its retention
    cutoff. A visitor who comes back later is bucketed again by the same hash (same arm
    while the weights are unchanged)."""
    cutoff = retention_cutoff(site=site, now=now)
    assignments = delete_in_chunks(
        Assignment.objects.filter(site=site, first_exposed_at__lt=cutoff)
    )
    decisions = delete_in_chunks(PolicyDecision.objects.filter(site=site, decided_at__lt=cutoff))
    return ExperimentsPurge(site.pk, cutoff, assignments, decisions)


def experiments_retention_purge_all(*, now: datetime | None = None) -> list[ExperimentsPurge]:
    return [experiments_retention_purge(site=site, now=now) for site in Site.objects.all()]
