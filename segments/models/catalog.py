from django.db import models

from tenancy.models import Site


class FieldType(models.TextChoices):
    STRING = "string"
    ENUM = "enum"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    VERSION = "version"
    LIST = "list"
    GEO = "geo"


class Field(models.Model):
    """A typed path into the visitor document (`profile.age`, `context.weather`…)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="fields")
    path = models.CharField(max_length=120)
    type = models.CharField(max_length=16, choices=FieldType.choices)
    label = models.CharField(max_length=120)
    help_text = models.CharField(max_length=500, blank=True)
    allowed_values = models.JSONField(default=list, blank=True)
    builtin = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["site", "path"], name="unique_field_path_per_site")
        ]

    def __str__(self) -> str:
        return self.path
