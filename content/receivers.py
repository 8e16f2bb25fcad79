"""Signal receivers of the content app: every new site gets the default design schema."""

from __future__ import annotations

from django.dispatch import receiver

from tenancy.models import Site
from tenancy.signals import site_created


@receiver(site_created, dispatch_uid="content.seed_design_schema")
def seed_design_schema(sender: type, site: Site, **kwargs: object) -> None:
    from content.models import DesignSchema
    from content.schemas import default_design_schema

    DesignSchema.objects.get_or_create(site=site, defaults={"schema": default_design_schema()})
