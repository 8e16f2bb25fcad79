"""The embedded scheduler of `make run`: it runs the beat schedule's tasks on time without a
broker, records its runs, starts only in the serving runserver process, and the admin shows
when scheduled work last ran and warns about past-due publishes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.utils import timezone

from content.models.schedules import PublishSchedule, ScheduleStatus
from content.selectors.configuration import published_site_load
from content.services.publishing import slot_schedule
from content.tasks import RUN_DUE_SCHEDULES
from personalize.scheduler.embedded import (
    EmbeddedScheduler,
    embedded_scheduler_wanted,
    scheduled_tasks,
)
from personalize.scheduler.status import scheduler_status
from tenancy.models import SchedulerHeartbeat
from tests.content.factories import placement_with_variants
from tests.factories import UserFactory, user_with_role


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_publish_happens_under_the_embedded_scheduler(site):
    placement = placement_with_variants(site)
    schedule = slot_schedule(
        slot=placement, action="publish", run_at=timezone.now() + timedelta(seconds=1)
    )
    assert published_site_load(site_id=site.pk).placements == {}
    # The project's own entry (same task), at a test-sized interval.
    scheduler = EmbeddedScheduler(
        {"content-run-due-schedules": {"task": RUN_DUE_SCHEDULES, "schedule": 0.2}}, tick=0.05
    )
    scheduler.start()
    try:
        assert scheduler.running
        assert wait_for(
            lambda: PublishSchedule.objects.get(pk=schedule.pk).status == ScheduleStatus.DONE
        )
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert "home_hero" in published_site_load(site_id=site.pk).placements
    beat = SchedulerHeartbeat.objects.get(name="embedded")
    assert RUN_DUE_SCHEDULES in beat.last_runs and beat.last_error == ""
    assert timezone.now() - beat.last_run_at < timedelta(seconds=15)


@pytest.mark.django_db
def test_run_pending_runs_each_entry_at_its_interval_and_survives_a_failing_task(monkeypatch):
    from personalize.celery import app

    calls = []
    monkeypatch.setitem(
        app.tasks, "tests.ok", type("T", (), {"apply_async": lambda self, **kw: calls.append(kw)})()
    )

    class Broken:
        def apply_async(self, **kw):
            raise RuntimeError("boom")

    monkeypatch.setitem(app.tasks, "tests.broken", Broken())
    scheduler = EmbeddedScheduler(
        {
            "broken": {"task": "tests.broken", "schedule": 3600.0},
            "ok": {"task": "tests.ok", "schedule": timedelta(hours=1), "args": [1]},
            "nightly": {"task": "tests.ok", "schedule": crontab(hour=3, minute=0)},
        }
    )
    ran = scheduler.run_pending()  # intervals run at once on start; the crontab waits
    assert set(ran) == {"tests.broken", "tests.ok"}
    assert calls == [{"args": (1,), "kwargs": {}}]
    assert scheduler.run_pending() == {}  # not due again for an hour
    beat = SchedulerHeartbeat.objects.get(name="embedded")
    assert "boom" in beat.last_error and set(beat.last_runs) == {"tests.broken", "tests.ok"}
    # An hour later both intervals are due again.
    for entry in scheduler.entries:
        if entry.name != "nightly":
            entry.last_run_at -= timedelta(hours=1, seconds=1)
    assert set(scheduler.run_pending()) == {"tests.broken", "tests.ok"}


def test_crontab_entries_wait_for_their_time():
    now = timezone.now()
    (entry,) = scheduled_tasks({"nightly": {"task": "x", "schedule": crontab(minute="*")}}, now=now)
    assert entry.last_run_at == now and not entry.is_due()
    entry.last_run_at = now - timedelta(minutes=2)
    assert entry.is_due()


@pytest.mark.parametrize(
    ("setting", "argv", "environ", "wanted"),
    [
        (True, ["manage.py", "runserver"], {"RUN_MAIN": "true"}, True),  # autoreloader child
        (True, ["manage.py", "runserver"], {}, False),  # the autoreloader's watcher
        (True, ["manage.py", "runserver", "--noreload"], {}, True),
        (True, ["manage.py", "migrate"], {"RUN_MAIN": "true"}, False),
        (True, ["pytest"], {}, False),
        (False, ["manage.py", "runserver"], {"RUN_MAIN": "true"}, False),
    ],
)
def test_the_scheduler_starts_only_in_the_serving_runserver(
    settings, setting, argv, environ, wanted
):
    settings.EMBEDDED_SCHEDULER = setting
    assert embedded_scheduler_wanted(argv=argv, environ=environ) is wanted


def test_the_setting_defaults_on_only_in_debug_without_a_broker(settings):
    assert settings.EMBEDDED_SCHEDULER is False  # tests start their own


@pytest.mark.django_db
def test_status_counts_past_due_schedules_on_the_users_sites_only(site, other_site):
    now = timezone.now()
    for s in (site, other_site):
        slot = placement_with_variants(s)
        schedule = slot_schedule(slot=slot, action="publish", run_at=now + timedelta(minutes=1))
        PublishSchedule.objects.filter(pk=schedule.pk).update(run_at=now - timedelta(minutes=5))
    recent = slot_schedule(
        slot=placement_with_variants(site, key="other"),
        action="publish",
        run_at=now + timedelta(minutes=1),
    )
    PublishSchedule.objects.filter(pk=recent.pk).update(run_at=now - timedelta(seconds=20))
    status = scheduler_status(site_ids=[site.pk], now=now)
    assert status["past_due"] == 1  # the 20-second one is within the grace minute
    assert status["stale"] and status["last_run_at"] is None
    assert scheduler_status(site_ids=None, now=now)["past_due"] == 2


@pytest.mark.django_db
def test_admin_index_and_schedules_pages_show_the_banner(client, site, other_site):
    now = timezone.now()
    slot = placement_with_variants(other_site)
    schedule = slot_schedule(slot=slot, action="publish", run_at=now + timedelta(minutes=1))
    PublishSchedule.objects.filter(pk=schedule.pk).update(run_at=now - timedelta(minutes=10))

    admin = UserFactory(is_superuser=True)
    client.force_login(admin)
    page = client.get("/admin/").content.decode()
    assert 'id="scheduler-status"' in page
    assert "No scheduler has run yet" in page
    assert 'data-past-due="1"' in page and "no scheduler is running them" in page
    schedules = client.get("/admin/content/publishschedule/").content.decode()
    assert 'data-past-due="1"' in schedules

    SchedulerHeartbeat.objects.create(name="embedded", last_run_at=now, last_runs={})
    page = client.get("/admin/").content.decode()
    assert "Scheduled work last ran" in page and "embedded scheduler" in page
    assert "they should run within a minute" in page

    # An editor of another site does not hear about other_site's schedule.
    editor = user_with_role(site, "editor")
    client.force_login(editor)
    page = client.get("/admin/").content.decode()
    assert 'id="scheduler-status"' in page and "data-past-due" not in page
