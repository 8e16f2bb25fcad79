"""The Celery application. Tasks run eagerly when no broker is configured (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "personalize.settings")

app = Celery("personalize")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
