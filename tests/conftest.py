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
