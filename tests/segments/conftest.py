import pytest
from rest_framework.test import APIClient

from tenancy.roles import Role
from tests.factories import user_with_role
from tests.segments.factories import ProfileFactory


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def marketer(site):
    return user_with_role(site, Role.MARKETER, username="marketer")


@pytest.fixture
def viewer(site):
    return user_with_role(site, Role.VIEWER, username="viewer")


@pytest.fixture
def editor(site):
    return user_with_role(site, Role.EDITOR, username="editor")


@pytest.fixture
def other_marketer(other_site):
    return user_with_role(other_site, Role.MARKETER, username="other-marketer")


@pytest.fixture
def marketer_client(marketer):
    return _client(marketer)


@pytest.fixture
def viewer_client(viewer):
    return _client(viewer)


@pytest.fixture
def editor_client(editor):
    return _client(editor)


@pytest.fixture
def other_client(other_marketer):
    return _client(other_marketer)


@pytest.fixture
def people(site):
    """Five profiles with known traits on `site`."""
    rows = [
        ("u-1", {"age": 25, "gender": "female", "city": "Detroit", "lifetime_value": 120}),
        ("u-2", {"age": 28, "gender": "female", "city": "Chicago", "lifetime_value": 80000}),
        ("u-3", {"age": 41, "gender": "male", "city": "Detroit", "lifetime_value": 10}),
        ("u-4", {"age": 22, "gender": "male", "city": "detroit"}),
        ("u-5", {"gender": "female"}),
    ]
    return [ProfileFactory(site=site, user_id=u, traits=t) for u, t in rows]
