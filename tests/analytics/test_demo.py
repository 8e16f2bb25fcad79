"""seed_demo's analytics tell a story on first run: rollups exist, and the loyal discount
converts better than the holdout's default for loyal customers, beyond the noise."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Sum

from analytics.metrics import wilson_interval
from analytics.models import Metric, MetricDay, SegmentSizeDay, VariantDay
from tenancy.models import Site


@pytest.mark.django_db
def test_demo_has_rollups_with_a_real_effect(admin_client, capsys):
    call_command("seed_demo", "--no-admin")
    assert "Analytics demo" in capsys.readouterr().out
    site = Site.objects.get(slug="demo")
    assert VariantDay.objects.filter(site=site, segment="").count() > 50
    assert SegmentSizeDay.objects.filter(site=site, segment="loyal-customers").count() >= 21
    metric = Metric.objects.get(site=site, key="checked-out")

    def rate(variant: str) -> tuple[float, float]:
        sums = MetricDay.objects.filter(
            site=site, metric=metric, segment="loyal-customers", slot="home_hero", variant=variant
        ).aggregate(n=Sum("n"), c=Sum("converted"))
        return wilson_interval(sums["c"], sums["n"])

    discount, holdout = rate("loyal-discount"), rate("default")
    assert discount[0] > holdout[1], (discount, holdout)  # the intervals do not overlap

    r = admin_client.get(f"/admin/reports/segments/loyal-customers/?site={site.pk}")
    assert r.status_code == 200 and "loyal-discount" in r.content.decode()
