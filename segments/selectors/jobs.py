"""Segment jobs (uploads and exports): the ones a user may see, and an export's file."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from segments.models import SegmentJob, SegmentJobChunk
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user


def segment_jobs_for_user(*, user: AbstractBaseUser) -> QuerySet[SegmentJob]:
    """Jobs of the sites where the user may read segments (others' jobs included: a
    colleague's export of a shared segment is no secret to who may export it too)."""
    return SegmentJob.objects.filter(site_id__in=site_ids_for_user(user, Perm.VIEW))


def segment_job_file(*, job: SegmentJob) -> Iterator[bytes]:
    """The job's file (its upload, or its export once done), one chunk per query: never
    all of it in memory."""
    indexes = list(SegmentJobChunk.objects.filter(job=job).values_list("index", flat=True))
    for index in indexes:
        rows = SegmentJobChunk.objects.filter(job=job, index=index).values_list("data", flat=True)
        yield bytes(rows.get())
