"""Background jobs of the segments app: a static segment's CSV upload and a segment's
members export, each with its progress for the admin's progress bar and the API, and the
file it reads or produces, kept in the database in chunks (web processes and Celery workers
share the database, not necessarily a disk)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from segments.models.segment import Segment
from tenancy.models import Site


class SegmentJobKind(models.TextChoices):
    UPLOAD = "upload", "CSV upload"
    EXPORT = "export", "CSV export"


class SegmentJobStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SegmentJobPhase(models.TextChoices):
    QUEUED = "queued", "Queued"
    READING = "reading", "Reading the file"
    MATCHING = "matching", "Matching user ids to profiles"
    SAVING = "saving", "Saving the members"
    WRITING = "writing", "Writing the file"
    FINISHED = "finished", "Finished"


class SegmentJob(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="segment_jobs")
    # Kept when the segment is deleted: the export stays downloadable, the upload explained.
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    segment_key = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=SegmentJobKind.choices)
    mode = models.CharField(max_length=16, blank=True, help_text="Uploads: replace or append.")
    status = models.CharField(
        max_length=16, choices=SegmentJobStatus.choices, default=SegmentJobStatus.PENDING
    )
    phase = models.CharField(
        max_length=16, choices=SegmentJobPhase.choices, default=SegmentJobPhase.QUEUED
    )
    # Uploads: user ids checked against profiles; exports: rows written.
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0, help_text="Ids with a stored profile.")
    unmatched = models.PositiveIntegerField(default=0, help_text="Ids with no stored profile.")
    unmatched_sample = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    error_rows = models.JSONField(default=list, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["site", "-created_at"], name="segment_job_site_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.segment_key} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (SegmentJobStatus.DONE, SegmentJobStatus.FAILED)


class SegmentJobChunk(models.Model):
    """A piece of a job's file: the uploaded CSV (input) or the export (output), in order."""

    job = models.ForeignKey(SegmentJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="unique_segment_job_chunk")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.index}"
