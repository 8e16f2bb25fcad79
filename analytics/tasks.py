"""Analytics' periodic jobs (CELERY_BEAT_SCHEDULE): folding new events into the rollups,
and purging what is older than each site's retention."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="analytics.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Every site's rollups, up to the events received half a minute ago."""
    from analytics.services.rollups import rollups_refresh_all

    return sum(r.days for r in rollups_refresh_all())


@shared_task(name="analytics.purge_expired", ignore_result=True)
def purge_expired() -> int:
    """Delete events and visitor data older than each site's retention period."""
    from analytics.services.retention import retention_purge_all

    return sum(p.events + p.profiles for p in retention_purge_all())
