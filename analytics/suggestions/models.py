"""A run of segment suggestions for a site: its parameters, progress and the suggestions it
found (each a criteria tree with its exact size), kept so the admin can show and save them.

Imported by `analytics.models`, so the model belongs to the analytics app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenancy.models import SiteScopedModel


class SuggestionRunStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SuggestionRun(SiteScopedModel):
    """One "Suggest segments" click. `suggestions` is a list of
    {kind: "rfm"|"cluster", key, name, description, facts, criteria, size, quality}
    (analytics.suggestions.services.Suggestion)."""

    status = models.CharField(
        max_length=16,
        choices=SuggestionRunStatus.choices,
        default=SuggestionRunStatus.PENDING,
        verbose_name=_("status"),
    )
    phase = models.CharField(max_length=200, blank=True, verbose_name=_("phase"))
    parameters = models.JSONField(default=dict, blank=True, verbose_name=_("parameters"))
    population = models.PositiveIntegerField(
        default=0,
        help_text=_("Profiles of the site when the run started."),
        verbose_name=_("population"),
    )
    suggestions = models.JSONField(default=list, blank=True, verbose_name=_("suggestions"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["site", "-created_at"], name="suggestion_run_site_time")]
        verbose_name = _("segment suggestions")
        verbose_name_plural = _("segment suggestions")

    def __str__(self) -> str:
        return f"Suggestions #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (SuggestionRunStatus.DONE, SuggestionRunStatus.FAILED)
