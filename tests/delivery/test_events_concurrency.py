"""Two concurrent posts of the same batch report `stored` counts that add up to the truth."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from delivery import services
from delivery.validation import validate_events
from segments.models import Event
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 200


def _batch(now):
    return validate_events(
        {
            "visitor": {"id": "anon-race"},
            "events": [{"id": f"race-{i}", "name": "view"} for i in range(EVENTS)],
        },
        now=now,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_retries_do_not_overstate_stored(round_):
    from django.utils import timezone

    site = SiteFactory(slug=f"race-{round_}")
    batch = _batch(timezone.now())
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []
    real_profiles = services._profiles_for_events

    def profiles_then_wait(**kwargs):
        # Both requests are inside their transactions, before looking for known ids.
        found = real_profiles(**kwargs)
        barrier.wait(timeout=10)
        return found

    def post() -> None:
        try:
            results.append(
                services.events_ingest(site_id=site.pk, batch=batch, caller="server").stored
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    services._profiles_for_events = profiles_then_wait
    try:
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        services._profiles_for_events = real_profiles
    assert not errors, errors
    assert Event.objects.filter(site=site).count() == EVENTS
    assert sorted(results)[0] >= 0 and sum(results) == EVENTS


def test_a_retry_reports_duplicates_not_stored(site):
    from django.utils import timezone

    batch = _batch(timezone.now())
    first = services.events_ingest(site_id=site.pk, batch=batch, caller="server")
    again = services.events_ingest(site_id=site.pk, batch=batch, caller="server")
    assert (first.stored, first.duplicates) == (EVENTS, 0)
    assert (again.stored, again.duplicates) == (0, EVENTS)
