"""Signal receivers of the segments app: every new site gets the built-in field catalog."""

from __future__ import annotations

from django.dispatch import receiver

from tenancy.models import Site
from tenancy.signals import site_created


@receiver(site_created, dispatch_uid="segments.seed_field_catalog")
def seed_field_catalog(sender: type, site: Site, **kwargs: object) -> None:
    from segments.services.fields import field_catalog_seed

    field_catalog_seed(site=site)
