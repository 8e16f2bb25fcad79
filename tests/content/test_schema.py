import pytest
from django.test import Client
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from tests.content.factories import placement_with_variants
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def test_openapi_schema_of_content_api_is_valid():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("content.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/v1/placements/{id}/publish/" in schema["paths"]
    assert "/api/v1/screens/{id}/revisions/{number}/" in schema["paths"]
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache


def test_routes_are_mounted_in_the_project(site, settings):
    settings.ROOT_URLCONF = "personalize.urls"
    placement_with_variants(site)
    client = Client()
    client.force_login(user_with_role(site, "viewer"))
    assert client.get("/api/v1/placements/").json()["count"] == 1
    assert client.get("/admin/content/placement/preview/visitor/").status_code == 200
