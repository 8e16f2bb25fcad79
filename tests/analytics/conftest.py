from tests.delivery.conftest import *  # noqa: F403 - the published configuration and API helpers
