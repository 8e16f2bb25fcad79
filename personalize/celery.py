"""The Celery application. Tasks run eagerly when no broker is configured (see settings).

Every task is durable (docs/deployment.md, "What survives a worker crash"): its message is
acknowledged only after it ran (`task_acks_late`) and is put back when the process running
it dies (`task_reject_on_worker_lost`), so a killed worker loses nothing; the tasks are
idempotent, so a message delivered twice has one effect. A task that meets an unavailable
database is retried with a growing delay instead of being dropped (`DurableTask`)."""

from __future__ import annotations

import os
import random
from typing import Any

from celery import Celery, Task
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "personalize.settings")

# Retries wait 1, 2, 4, … seconds (with jitter), at most this long: an outage of any
# length is waited out, and a returning database is used again within this bound.
RETRY_BACKOFF_MAX = 300.0
# What a database outage raises (connection refused or lost, "database is locked"). Errors
# that would fail the same way again (bad data, a bug) are not retried.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def retry_countdown(retries: int) -> float:
    """Seconds before retry number `retries + 1`: exponential, capped, with jitter so that
    a batch failed by one outage does not come back all at once."""
    return min(RETRY_BACKOFF_MAX, 2.0**retries) * random.uniform(0.5, 1.0)


class DurableTask(Task):
    """The base of every task of the project (the app's `task_cls`). Late acknowledgement
    and requeueing on a lost worker are settings (CELERY_TASK_ACKS_LATE,
    CELERY_TASK_REJECT_ON_WORKER_LOST), so that they apply to every task."""

    # Retried until the database is back: a message is worth more than a bounded number of
    # attempts (each waits at most RETRY_BACKOFF_MAX).
    max_retries = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TRANSIENT_ERRORS as exc:
            # Inline (eager or a direct call) there is no queue to come back from: the
            # caller sees the error (publish_quietly logs it) rather than a retry loop.
            if self.request.is_eager or self.request.called_directly:
                raise
            raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc


app = Celery("personalize", task_cls=DurableTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
