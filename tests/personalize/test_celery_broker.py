"""A real Celery worker against a real broker (RabbitMQ in CI)."""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from personalize.celery import app
from tenancy.models import ApiKey
from tenancy.services import api_key_create
from tenancy.tasks import api_key_mark_used

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "")


@pytest.fixture
def real_broker():
    if not BROKER:
        if os.environ.get("CI"):
            pytest.fail("CELERY_TEST_BROKER_URL must be set in CI")
        pytest.skip("set CELERY_TEST_BROKER_URL to run against a real broker")
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=BROKER, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.update(saved)


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_task_runs_on_a_real_worker(site, real_broker):
    key, _ = api_key_create(site=site, kind="delivery", name="Web")
    used_at = timezone.now().replace(microsecond=0)
    api_key_mark_used.delay(key.pk, used_at.isoformat())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ApiKey.objects.get(pk=key.pk).last_used_at is not None:
            break
        time.sleep(0.1)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == used_at
