"""Delivery's system checks: it owns refusing eager Celery in production, where every
known visitor's visit and every ingest's follow-up would be written by web workers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def eager_celery_refused(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG or not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return []
    if getattr(settings, "CELERY_ALLOW_EAGER", False):
        return []
    return [
        checks.Error(
            "Celery runs tasks eagerly (no CELERY_BROKER_URL) with DEBUG off: web workers "
            "would write visits and event follow-ups themselves.",
            hint="Set CELERY_BROKER_URL (e.g. redis://… or amqp://…), or CELERY_ALLOW_EAGER=true "
            "to accept eager tasks in a small single-machine deployment.",
            id="delivery.E001",
        )
    ]
