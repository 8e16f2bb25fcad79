"""Deleting a site takes its optimizations, their versions and decisions along (the slot,
goal and variants they protect are deleted in the same cascade)."""

import pytest

from experiments.models import Optimization, PolicyDecision
from tenancy.models import Site
from tests.delivery.optimized_fixtures import make_optimization, model

pytestmark = pytest.mark.django_db


def test_a_site_with_a_running_optimization_can_be_deleted(site, config):
    optimization = make_optimization(site, config["banner"], live=model())
    PolicyDecision.objects.create(
        site=site,
        optimization=optimization,
        version=1,
        unit_id="u1",
        arm_key="a",
        propensity=0.5,
        decided_at=optimization.started_at,
    )
    site.delete()
    assert not Site.objects.filter(pk=site.pk).exists()
    assert not Optimization.objects.filter(pk=optimization.pk).exists()
    assert not PolicyDecision.objects.exists()


def test_what_an_optimization_uses_cannot_be_deleted_on_its_own(site, config):
    from django.core.exceptions import ValidationError
    from django.db.models import RestrictedError

    from analytics.services.metrics import metric_delete

    optimization = make_optimization(site, config["banner"], live=model())
    with pytest.raises(ValidationError, match="optimization"):
        metric_delete(metric=optimization.goal)
    with pytest.raises(RestrictedError):
        config["banner"].delete()
    with pytest.raises(RestrictedError):
        optimization.arms.first().content_variant.delete()
    assert Optimization.objects.filter(pk=optimization.pk).exists()


def test_the_demo_site_with_everything_in_it_can_be_deleted():
    from django.core.management import call_command

    call_command("seed_demo", "--no-admin", stdout=open("/dev/null", "w"))  # noqa: SIM115
    demo = Site.objects.get(slug="demo")
    demo.delete()  # experiments, optimizations, ratio metrics, predictive models...
    assert not Site.objects.filter(slug="demo").exists()
