import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import SiteFactory, make_key


@pytest.fixture(autouse=True)
def _clear_cache():
    from tenancy import failopen

    def clear():
        cache.clear()
        failopen.local_cache.clear()
        failopen.cache_breaker.reset()
        failopen.broker_breaker.reset()

    clear()
    yield
    clear()


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process memos (snapshots, keys, origins, buffered visits) keyed by ids that tests
    reuse."""
    from delivery.authentication import forget_keys
    from delivery.cors import forget_origins
    from delivery.snapshot import snapshot_forget
    from delivery.visit_buffer import visits_forget

    snapshot_forget()
    forget_keys()
    forget_origins()
    visits_forget()
    yield
    snapshot_forget()
    forget_keys()
    forget_origins()
    visits_forget()


@pytest.fixture
def site(db):
    return SiteFactory(slug="alpha", name="Alpha")


@pytest.fixture
def other_site(db):
    return SiteFactory(slug="beta", name="Beta")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def delivery_key(site):
    return make_key(site, "delivery")


@pytest.fixture
def server_key(site):
    return make_key(site, "server")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say which tests could not run here (a real broker), rather than let them pass quietly."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "broker" in getattr(report, "keywords", {})
    ]
    if skipped:
        n = len(skipped)
        terminalreporter.write_line(
            f"NOT RUN here: {n} broker test{'s' if n != 1 else ''} "
            "(set CELERY_TEST_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// to run "
            f"{'them' if n != 1 else 'it'})",
            yellow=True,
            bold=True,
        )
