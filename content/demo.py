"""Demo data for this app, called by `manage.py seed_demo` (must be idempotent)."""

from personalize.models import Site


def seed(site: Site, *, stdout=None) -> None:
    return None
