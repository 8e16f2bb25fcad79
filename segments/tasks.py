"""Background jobs of the segments app (run eagerly without a broker)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model

from segments.models import Segment
from tenancy.models import Site


@shared_task(ignore_result=True)
def field_catalog_seed_all() -> int:
    """Add missing built-in fields to every site (after an upgrade adds built-ins)."""
    from segments.services.fields import field_catalog_seed

    return sum(field_catalog_seed(site=site) for site in Site.objects.all())


@shared_task(ignore_result=True)
def segment_snapshot_task(
    segment_id: int, user_id: int | None = None, key: str | None = None, name: str | None = None
) -> int | None:
    """Freeze a large dynamic segment off the request path; returns the snapshot's id."""
    from segments.services.segments import segment_snapshot

    segment = Segment.objects.select_related("site").filter(pk=segment_id).first()
    if segment is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return segment_snapshot(segment=segment, key=key, name=name, created_by=user).pk


@shared_task(ignore_result=True)
def counter_backfill_task(spec_id: int) -> None:
    """Backfill one behavioural counter spec from stored events (progress in the admin)."""
    from segments.services.counters import counter_backfill

    counter_backfill(spec_id=spec_id)


@shared_task(name="segments.counters_backfill_pending", ignore_result=True)
def counters_backfill_pending() -> int:
    """Resume the backfills that are not complete (e.g. interrupted by a restart)."""
    from segments.services.counters import counters_backfill_queue

    return counters_backfill_queue()


@shared_task(name="segments.run_job", ignore_result=True)
def segment_job_task(job_id: int) -> None:
    """Run a segment upload or export job (segments.services.jobs)."""
    from segments.services.jobs import segment_job_run

    segment_job_run(job_id=job_id)


@shared_task(name="segments.purge_jobs", ignore_result=True)
def segment_jobs_purge_task() -> int:
    """Delete week-old upload and export jobs with their files."""
    from segments.services.jobs import segment_jobs_purge

    return segment_jobs_purge()
