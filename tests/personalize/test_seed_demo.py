import pytest
from django.core.management import call_command

from tenancy.models import ApiKey, Site
from tenancy.selectors import api_key_resolve


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_working_credentials(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert Site.objects.filter(slug="demo").count() == 1
    assert "Admin login:   admin / admin" in second
    keys = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in second.splitlines()
        if "key:" in line
    }
    delivery = api_key_resolve(keys["Delivery key"])
    server = api_key_resolve(keys["Server key"])
    assert delivery and delivery.kind == "delivery" and not delivery.revoked
    assert server and server.kind == "server" and not server.revoked
    # The first run's keys were replaced, not left lying around.
    assert ApiKey.objects.filter(site__slug="demo", revoked_at=None).count() == 2
    assert first != second
