"""The design schema of a site: the one JSON Schema that every screen design of the site must
satisfy. A default is created with each site (`content.receivers`); a site admin may replace it
through `content.services.drafts.design_schema_update`, which refuses a schema that a current
design would no longer satisfy.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from content.schemas import default_design_schema
from content.validation import schema_problem
from tenancy.models import Site


class DesignSchema(models.Model):
    """The JSON Schema that every screen design of a site must satisfy."""

    site = models.OneToOneField(
        Site, on_delete=models.CASCADE, related_name="design_schema", verbose_name=_("site")
    )
    schema = models.JSONField(default=default_design_schema, verbose_name=_("schema"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("design schema")
        verbose_name_plural = _("design schemas")

    def __str__(self) -> str:
        return _("Design schema of %(site)s") % {"site": self.site}

    def clean(self) -> None:
        problem = schema_problem(self.schema)
        if problem:
            raise ValidationError({"schema": problem})
