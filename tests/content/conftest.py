import pytest


@pytest.fixture(autouse=True)
def _content_urls(settings):
    settings.ROOT_URLCONF = "tests.content.urls"
