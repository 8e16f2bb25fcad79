"""The site's global holdout: visitors whose `hash_unit(seed, unit)` falls below `share` get
the defaults everywhere (reason "holdout") and take part in no experiment, so the lift of all
personalization can be measured against them."""

from __future__ import annotations

from django.db import transaction

from experiments.models import GlobalHoldout
from tenancy.models import Site
from tenancy.services import site_config_bump


def holdout_set(
    *,
    site: Site,
    enabled: bool,
    share: float,
    seed: str | None = None,
) -> GlobalHoldout:
    """Create or change the site's holdout (share 0..0.5)."""
    with transaction.atomic():
        holdout = GlobalHoldout.objects.select_for_update().filter(
            site=site
        ).first() or GlobalHoldout(site=site)
        holdout.enabled = enabled
        holdout.share = share
        if seed is not None:
            holdout.seed = seed
        holdout.full_clean(exclude=["site"] if holdout.pk is None else None)
        holdout.save()
        site_config_bump(site_id=site.pk)
    return holdout
