"""The admin reports: read from rollups, scoped to the user's sites, every table a CSV,
low counts flagged, a strict CSP."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import MetricDay, SegmentSizeDay, VariantDay
from analytics.services.metrics import metric_create
from tenancy.roles import Role
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def rollups(site):
    metric = metric_create(
        site=site, key="bought", name="Bought", kind="conversion", event="purchase"
    )
    today = timezone.now().date()
    for back in range(3):
        day = today - timedelta(days=back)
        for variant, imps, clicks, converted in (("a", 400, 40, 20), ("b", 50, 10, 9)):
            dims = {
                "site": site,
                "day": day,
                "slot": "hero",
                "variant": variant,
                "reason": "default",
            }
            VariantDay.objects.create(**dims, impressions=imps, visitors=imps // 2, clicks=clicks)
            MetricDay.objects.create(
                **dims,
                metric=metric,
                n=imps // 2,
                converted=converted,
                total=converted,
                total_sq=converted,
            )
        SegmentSizeDay.objects.create(site=site, day=day, segment="vips", size=10 + back)
    return metric


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_dashboard_and_slot_report(client, site, rollups):
    user = user_with_role(site, Role.VIEWER, username="viewer")
    client.force_login(user)
    r = client.get(f"/admin/reports/?site={site.pk}")
    assert r.status_code == 200
    assert "script-src 'self'" in r["Content-Security-Policy"]
    html = r.content.decode()
    assert 'data-chart="chart-traffic"' in html and 'id="traffic"' in html
    assert "too small to matter" in html  # variant b: 150 impressions in 3 days... and low n

    rows = read_csv(client.get(f"/admin/reports/?site={site.pk}&format=csv&table=traffic"))
    assert rows[0] == ["Day", "Impressions", "Visitor-days", "Clicks"]
    assert sum(int(r[1]) for r in rows[1:]) == 3 * 450

    r = client.get(f"/admin/reports/slots/hero/?site={site.pk}&days=7&format=csv&table=variants")
    rows = read_csv(r)
    by_variant = {row[0]: row for row in rows[1:]}
    assert by_variant["a"][1:4] == ["1200", "600", "120"]
    assert float(by_variant["a"][4]) == 10.0  # CTR %
    assert float(by_variant["a"][6]) == 10.0  # 60 of 600 converted
    assert by_variant["b"][6] == "36.0"
    assert " to " in by_variant["a"][7]


def test_segment_report_and_missing_table(client, site, rollups):
    client.force_login(user_with_role(site, Role.VIEWER, username="viewer"))
    r = client.get(f"/admin/reports/segments/vips/?site={site.pk}")
    assert r.status_code == 200 and 'data-chart="chart-size"' in r.content.decode()
    rows = read_csv(
        client.get(f"/admin/reports/segments/vips/?site={site.pk}&format=csv&table=sizes")
    )
    assert [int(r[1]) for r in rows[1:]] == [12, 11, 10]
    assert client.get(f"/admin/reports/?site={site.pk}&format=csv&table=nope").status_code == 404


def test_reports_are_scoped_to_the_users_sites(client, site, other_site, rollups):
    client.force_login(user_with_role(other_site, Role.VIEWER, username="outsider"))
    r = client.get(f"/admin/reports/?site={site.pk}&format=csv&table=traffic")
    # The site asked for is not theirs: they get their own site's (empty) numbers.
    assert sum(int(row[1]) for row in read_csv(r)[1:]) == 0
    client.logout()
    assert client.get("/admin/reports/").status_code == 302  # to the login page


def test_admin_app_list_links_to_the_dashboard(client, site, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))
    r = client.get("/admin/analytics/report/")
    assert r.status_code == 302 and r["Location"] == "/admin/reports/"
