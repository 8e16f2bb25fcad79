"""Segment jobs: a static segment's CSV upload and a segment's members export, run off the
request (a Celery task; with no broker, eagerly, or on a thread under `make run`) and
recorded in a SegmentJob row whose progress the admin polls and the API returns.

An upload is checked in full before anything is written (all or nothing, as before): the
file is streamed from its stored chunks, each distinct id is looked up among the site's
stored profiles (progress: ids checked of ids read; the ids that match no profile are
counted, with a sample), then the members are written in one transaction.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import IO

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import close_old_connections, transaction
from django.utils import timezone

from segments.criteria import CriteriaError
from segments.models import (
    Profile,
    Segment,
    SegmentJob,
    SegmentJobChunk,
    SegmentJobKind,
    SegmentJobPhase,
    SegmentJobStatus,
)
from segments.selectors.jobs import job_saving_progress_set, segment_job_file
from segments.selectors.members import segment_count, segment_export_csv
from segments.services.static import (
    CHUNK_BYTES,
    MAX_UPLOAD_BYTES,
    UploadError,
    file_chunks,
    parse_user_ids_csv,
    static_segment_members_set,
    static_segment_upload_check,
)

logger = logging.getLogger(__name__)

MATCH_BATCH = 2000  # ids looked up per query; progress is saved after each batch
UNMATCHED_SAMPLE = 20
EXPORT_PROGRESS_ROWS = 2000
JOB_RETENTION = timedelta(days=7)

# Under `make run` (no broker) the embedded scheduler's process turns this on: jobs then run
# on a thread, so the admin's progress bar moves while they do. Elsewhere without a broker
# (tests, one-off commands) they run eagerly, inside the request.
_run_on_threads = False


def segment_jobs_run_on_threads(*, enabled: bool) -> None:
    global _run_on_threads
    _run_on_threads = enabled


def segment_upload_job_create(
    *,
    segment: Segment,
    file: IO | bytes | str,
    mode: str = "replace",
    created_by: AbstractBaseUser | None = None,
) -> SegmentJob:
    """Store the CSV and start the upload job. Refuses at once (UploadError) what needs no
    reading: a dynamic segment, an unknown mode, a file over the size limit."""
    static_segment_upload_check(segment=segment, mode=mode)
    size = getattr(file, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise UploadError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    with transaction.atomic():
        job = SegmentJob.objects.create(
            site_id=segment.site_id,
            segment=segment,
            segment_key=segment.key,
            kind=SegmentJobKind.UPLOAD,
            mode=mode,
            file_name=(getattr(file, "name", "") or "upload.csv")[-255:],
            created_by=created_by,
        )
        stored = 0
        for index, piece in enumerate(file_chunks(file, size=CHUNK_BYTES)):
            stored += len(piece)
            if stored > MAX_UPLOAD_BYTES:
                raise UploadError(
                    f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
                )
            SegmentJobChunk.objects.create(job=job, index=index, data=piece)
        job.file_size = stored
        job.save(update_fields=["file_size"])
        transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def segment_export_job_create(
    *, segment: Segment, created_by: AbstractBaseUser | None = None
) -> SegmentJob:
    """Start writing the segment's members CSV in the background (downloaded when done)."""
    with transaction.atomic():
        job = SegmentJob.objects.create(
            site_id=segment.site_id,
            segment=segment,
            segment_key=segment.key,
            kind=SegmentJobKind.EXPORT,
            file_name=f"segment-{segment.key}.csv",
            created_by=created_by,
        )
        transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def _dispatch(job_id: int) -> None:
    from django.conf import settings

    from segments.tasks import segment_job_task

    if settings.CELERY_TASK_ALWAYS_EAGER and _run_on_threads:
        threading.Thread(
            target=_run_on_thread, args=(job_id,), name=f"segment-job-{job_id}", daemon=True
        ).start()
        return
    try:
        segment_job_task.delay(job_id)
    except Exception as exc:  # eager runs record their own failure; this is the broker's
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.exception("Could not queue segment job %s", job_id)
        _fail(
            job_id, f"The job could not be queued (task broker unavailable: {type(exc).__name__})."
        )


def _run_on_thread(job_id: int) -> None:
    from django.db import connections

    try:
        segment_job_run(job_id=job_id)
    finally:
        close_old_connections()
        connections.close_all()


def _save(job: SegmentJob, *fields: str) -> None:
    SegmentJob.objects.filter(pk=job.pk).update(**{f: getattr(job, f) for f in fields})


def _fail(job_id: int, message: str, rows: list[dict] | None = None) -> None:
    SegmentJob.objects.filter(pk=job_id).update(
        status=SegmentJobStatus.FAILED,
        phase=SegmentJobPhase.FINISHED,
        error=message,
        error_rows=rows or [],
        finished_at=timezone.now(),
    )


def segment_job_run(*, job_id: int) -> SegmentJob | None:
    """Run a pending job to its end (done or failed); what the Celery task calls."""
    job = SegmentJob.objects.select_related("segment", "created_by").filter(pk=job_id).first()
    if job is None or job.status != SegmentJobStatus.PENDING:
        return job  # gone, or already run (a task delivered twice)
    job.status, job.started_at = SegmentJobStatus.RUNNING, timezone.now()
    _save(job, "status", "started_at")
    try:
        if job.segment is None:
            raise UploadError(f"The segment “{job.segment_key}” was deleted.")
        if job.kind == SegmentJobKind.UPLOAD:
            _run_upload(job)
        else:
            _run_export(job)
    except (UploadError, CriteriaError) as exc:
        _fail(job.pk, " ".join(getattr(exc, "messages", [str(exc)])), getattr(exc, "rows", []))
    except Exception as exc:
        logger.exception("Segment job %s failed", job.pk)
        # An upload writes its members in one transaction: a failure changed nothing.
        _fail(job.pk, f"Unexpected error ({type(exc).__name__}); nothing was changed.")
    else:
        job.status, job.phase = SegmentJobStatus.DONE, SegmentJobPhase.FINISHED
        job.finished_at = timezone.now()
        _save(job, "status", "phase", "finished_at")
    if job.kind == SegmentJobKind.UPLOAD:
        SegmentJobChunk.objects.filter(job_id=job.pk).delete()  # the upload is no longer needed
    job.refresh_from_db()
    return job


def _run_upload(job: SegmentJob) -> None:
    segment = job.segment
    job.phase = SegmentJobPhase.READING
    _save(job, "phase")
    ids, result = parse_user_ids_csv(file=segment_job_file(job=job))
    if result.errors:
        raise UploadError(
            f"{len(result.errors)} row(s) are invalid; nothing was changed.", rows=result.errors
        )
    job.phase, job.total = SegmentJobPhase.MATCHING, len(ids)
    _save(job, "phase", "total")
    for start in range(0, len(ids), MATCH_BATCH):
        batch = ids[start : start + MATCH_BATCH]
        known = set(
            Profile.objects.filter(site_id=job.site_id, user_id__in=batch).values_list(
                "user_id", flat=True
            )
        )
        job.matched += len(known)
        job.unmatched += len(batch) - len(known)
        if len(job.unmatched_sample) < UNMATCHED_SAMPLE:
            missing = [u for u in batch if u not in known]
            job.unmatched_sample = [*job.unmatched_sample, *missing][:UNMATCHED_SAMPLE]
        job.processed = start + len(batch)
        _save(job, "processed", "matched", "unmatched", "unmatched_sample")
    job.phase = SegmentJobPhase.SAVING
    _save(job, "phase")

    def saving(written: int, to_write: int) -> None:
        # The rows stay invisible until the transaction commits: the progress goes through
        # the cache (fail-open) for the status page to read.
        job_saving_progress_set(job_id=job.pk, written=written, to_write=to_write)

    result = static_segment_members_set(
        segment=segment,
        ids=ids,
        result=result,
        mode=job.mode,
        changed_by=job.created_by,
        progress=saving,
    )
    job.result = {
        "added": result.added,
        "removed": result.removed,
        "total": result.total,
        "rows": result.rows,
        "duplicates": result.duplicates,
    }
    _save(job, "result")


def _run_export(job: SegmentJob) -> None:
    segment = job.segment
    job.phase = SegmentJobPhase.WRITING
    job.total = segment_count(segment=segment)
    _save(job, "phase", "total")

    def progress(rows: int) -> None:
        if rows - job.processed >= EXPORT_PROGRESS_ROWS:
            job.processed = rows
            _save(job, "processed")

    buffer: list[bytes] = []
    buffered = index = size = 0
    for text in segment_export_csv(segment=segment, on_rows=progress):
        data = text.encode()
        buffer.append(data)
        buffered += len(data)
        if buffered >= CHUNK_BYTES:
            SegmentJobChunk.objects.create(job=job, index=index, data=b"".join(buffer))
            index, size, buffer, buffered = index + 1, size + buffered, [], 0
    if buffer:
        SegmentJobChunk.objects.create(job=job, index=index, data=b"".join(buffer))
        size += buffered
    job.file_size = size
    job.processed = max(job.processed, job.total)
    job.result = {"rows": job.processed}
    _save(job, "file_size", "processed", "result")


def segment_jobs_purge(*, now: datetime | None = None) -> int:
    """Delete jobs (and their files) finished more than JOB_RETENTION ago; and jobs stuck
    unfinished that long (a worker lost mid-way). Returns how many."""
    cutoff = (now or timezone.now()) - JOB_RETENTION
    old = SegmentJob.objects.filter(created_at__lt=cutoff)
    count = old.count()
    old.delete()
    return count
