"""Segment jobs (uploads and exports): the ones a user may see, and an export's file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.utils.translation import gettext

from segments.models import (
    SegmentJob,
    SegmentJobChunk,
    SegmentJobKind,
    SegmentJobPhase,
    SegmentJobStatus,
)
from tenancy.failopen import cache_get_or_none, cache_set_quietly
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


SAVING_PROGRESS_SECONDS = 3600


class SegmentJobStatusDict(TypedDict):
    """What the admin's progress bar reads (JSON)."""

    id: int
    kind: str
    status: str
    status_label: str
    phase: str
    phase_label: str
    processed: int
    total: int
    percent: int
    matched: int
    unmatched: int
    unmatched_sample: list[str]
    result: dict[str, Any]
    result_text: str
    error: str
    error_rows: list[dict[str, Any]]
    finished: bool
    download: bool


def _saving_key(job_id: int) -> str:
    return f"segments:job-saving:{job_id}"


def job_saving_progress_set(*, job_id: int, written: int, to_write: int) -> None:
    """Where an upload's member writing stands (its transaction hides the rows)."""
    cache_set_quietly(_saving_key(job_id), (written, to_write), SAVING_PROGRESS_SECONDS)


def _result_text(job: SegmentJob) -> str:
    """An upload's outcome as a sentence in the active language (the page's script shows it
    as given)."""
    result = job.result or {}
    if job.kind != SegmentJobKind.UPLOAD or job.status != SegmentJobStatus.DONE or not result:
        return ""
    return gettext("Done: %(added)s added, %(removed)s removed, %(total)s members.") % {
        "added": result.get("added", 0),
        "removed": result.get("removed", 0),
        "total": result.get("total", 0),
    }


def segment_job_status(*, job: SegmentJob) -> SegmentJobStatusDict:
    done = job.status == SegmentJobStatus.DONE
    percent = 100 if done else (min(99, job.processed * 100 // job.total) if job.total else 0)
    if not done and job.phase == SegmentJobPhase.SAVING:
        saving = cache_get_or_none(_saving_key(job.pk))
        written, to_write = saving if isinstance(saving, tuple | list) else (0, 0)
        percent = min(99, written * 100 // to_write) if to_write else 0
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_label": job.get_status_display(),
        "phase": job.phase,
        "phase_label": job.get_phase_display(),
        "processed": job.processed,
        "total": job.total,
        "percent": percent,
        "matched": job.matched,
        "unmatched": job.unmatched,
        "unmatched_sample": list(job.unmatched_sample or []),
        "result": dict(job.result or {}),
        "result_text": _result_text(job),
        "error": job.error,
        "error_rows": list(job.error_rows or []),
        "finished": job.finished,
        "download": done and job.kind == SegmentJobKind.EXPORT,
    }
