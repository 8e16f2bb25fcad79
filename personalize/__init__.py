"""The project package: settings, URLs, the Celery app, health probes and `manage.py seed_demo`.

It sits on top of every app and owns no models; see docs/architecture.md for the layers.
"""

from personalize.celery import app as celery_app

__all__ = ("celery_app",)
