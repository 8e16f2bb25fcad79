"""Background jobs of the segments app: a static segment's CSV upload and a segment's
members export, each with its progress for the admin's progress bar and the API, and the
file it reads or produces, kept in the database in chunks (web processes and Celery workers
share the database, not necessarily a disk)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from segments.models.segment import Segment
from tenancy.models import Site


class SegmentJobKind(models.TextChoices):
    UPLOAD = "upload", _("CSV upload")
    EXPORT = "export", _("CSV export")


class SegmentJobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SegmentJobPhase(models.TextChoices):
    QUEUED = "queued", _("Queued")
    READING = "reading", _("Reading the file")
    MATCHING = "matching", _("Matching user ids to profiles")
    SAVING = "saving", _("Saving the members")
    WRITING = "writing", _("Writing the file")
    FINISHED = "finished", _("Finished")


class SegmentJob(models.Model):
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="segment_jobs", verbose_name=_("site")
    )
    # Kept when the segment is deleted: the export stays downloadable, the upload explained.
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        verbose_name=_("segment"),
    )
    segment_key = models.CharField(max_length=100, verbose_name=_("segment key"))
    kind = models.CharField(max_length=16, choices=SegmentJobKind.choices, verbose_name=_("kind"))
    mode = models.CharField(
        max_length=16,
        blank=True,
        help_text=_("Uploads: replace or append."),
        verbose_name=_("mode"),
    )
    status = models.CharField(
        max_length=16,
        choices=SegmentJobStatus.choices,
        default=SegmentJobStatus.PENDING,
        verbose_name=_("status"),
    )
    phase = models.CharField(
        max_length=16,
        choices=SegmentJobPhase.choices,
        default=SegmentJobPhase.QUEUED,
        verbose_name=_("phase"),
    )
    # Uploads: user ids checked against profiles; exports: rows written.
    processed = models.PositiveIntegerField(default=0, verbose_name=_("processed"))
    total = models.PositiveIntegerField(default=0, verbose_name=_("total"))
    matched = models.PositiveIntegerField(
        default=0, help_text=_("Ids with a stored profile."), verbose_name=_("matched")
    )
    unmatched = models.PositiveIntegerField(
        default=0, help_text=_("Ids with no stored profile."), verbose_name=_("unmatched")
    )
    unmatched_sample = models.JSONField(
        default=list, blank=True, verbose_name=_("unmatched sample")
    )
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    error_rows = models.JSONField(default=list, blank=True, verbose_name=_("error rows"))
    file_name = models.CharField(max_length=255, blank=True, verbose_name=_("file name"))
    file_size = models.PositiveBigIntegerField(default=0, verbose_name=_("file size"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("segment job")
        verbose_name_plural = _("segment jobs")
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
