import pytest
import yaml
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_segments_api_is_documented_and_schema_validates(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    validate(schema)
    paths = schema["paths"]
    for path in (
        "/api/v1/fields/",
        "/api/v1/fields/{id}/",
        "/api/v1/segments/",
        "/api/v1/segments/{id}/",
        "/api/v1/segments/{id}/count/",
        "/api/v1/segments/{id}/members/",
        "/api/v1/segments/{id}/export/",
        "/api/v1/segments/{id}/history/",
        "/api/v1/segments/{id}/upload/",
        "/api/v1/segments/{id}/snapshot/",
        "/api/v1/segments/preview",
        "/api/v1/segments/audience",
    ):
        assert path in paths, path
    assert "/api/v1/segments/preview/" not in paths  # the slash alias is not documented twice
    preview = paths["/api/v1/segments/preview"]["post"]
    assert preview["requestBody"]["content"]["application/json"]["examples"]
    assert "400" in preview["responses"]
    upload = paths["/api/v1/segments/{id}/upload/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
