"""The admin's results page, its CSV export and the experiment list's badges and lift cards,
on hand-built reports (the selectors are replaced): each guidance state renders, the
sample-ratio banner hides the table, the CSV has one row per arm x metric, every role of the
site may read and another site's experiment is a 404."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from experiments.analysis import METHOD_WORDS, Analysis, Cell
from experiments.reports import (
    ArmSummary,
    DailyAllocation,
    DailyEffect,
    ExperimentReport,
    PersonalizationLift,
)
from experiments.services.experiments import experiment_start
from experiments.services.holdout import holdout_set
from experiments.stats import SrmCheck
from tenancy.roles import Role
from tests.experiments.conftest import make_experiment
from tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db

LIST = reverse("admin:experiments_experiment_changelist")
EXPLANATIONS = {
    "ship": "Arm b is significantly better on signup.",
    "keep_running": "Nothing is significant yet; keep collecting data.",
    "stop_for_harm": "Arm b is significantly worse on the guardrail errors.",
    "no_effect": "Every arm reached the planned sample with no significant effect.",
}
OK_SRM = SrmCheck(status="ok", p_value=0.42, observed=(5010.0, 4990.0), expected=(5000.0, 5000.0))
BAD_SRM = SrmCheck(
    status="mismatch", p_value=1e-9, observed=(5600.0, 4400.0), expected=(5000.0, 5000.0)
)


def cells(*, significant: bool = False, better: bool | None = None) -> tuple[Cell, ...]:
    return (
        Cell(
            arm="b",
            metric="signup",
            role="primary",
            relative=True,
            control_mean=0.05,
            treatment_mean=0.08,
            effect=0.6,
            ci_low=0.31,
            ci_high=0.89,
            p_value=0.0004,
            adjusted_p_value=0.0004,
            significant=significant,
            better=better,
            chance_to_win=0.999,
            expected_loss=0.0001,
        ),
        Cell(
            arm="b",
            metric="errors",
            role="guardrail",
            relative=False,
            control_mean=0.1,
            treatment_mean=0.12,
            effect=0.02,
            ci_low=-0.01,
            ci_high=0.05,
            p_value=0.2,
            adjusted_p_value=0.4,
            correction="holm",
        ),
        Cell(
            arm="b",
            metric="revenue",
            role="secondary",
            relative=True,
            error="the control's mean is 0: no relative lift yet",
        ),
    )


def build_report(
    guidance: str = "keep_running",
    *,
    method: str = "sequential",
    units: tuple[int, int] = (5010, 4990),
    phase: int = 1,
    phases: tuple[int, ...] = (1,),
    days: int = 3,
) -> ExperimentReport:
    hidden = guidance == "check_split"
    analysis = Analysis(
        method=method,
        alpha=0.05,
        srm=BAD_SRM if hidden else OK_SRM,
        guidance=guidance,
        explanation="Results are hidden: the arms received 5,600, 4,400 units."
        if hidden
        else EXPLANATIONS[guidance],
        winner="b" if guidance == "ship" else None,
        cells=()
        if hidden
        else cells(significant=guidance in ("ship", "stop_for_harm"), better=guidance == "ship"),
    )
    start = date(2026, 11, 1)
    return ExperimentReport(
        experiment_key="hero-test",
        phase=phase,
        phases=phases,
        status="running",
        mode="fixed",
        arms=(
            ArmSummary(key="control", name="Control", is_control=True, weight=0.5, units=units[0]),
            ArmSummary(key="b", name="Bold hero", is_control=False, weight=0.5, units=units[1]),
        ),
        analysis=analysis,
        excluded_units=7,
        daily_effects=tuple(
            DailyEffect(day=start + timedelta(days=i), arm="b", effect=0.5, ci_low=0.1, ci_high=0.9)
            for i in range(days)
        ),
        daily_allocation=tuple(
            DailyAllocation(day=start + timedelta(days=i), arm=arm, units=100, share=0.5)
            for i in range(days)
            for arm in ("control", "b")
        ),
        notes=("CUPED used 7 days before exposure.",),
    )


@pytest.fixture
def calls(monkeypatch):
    """Replace the selectors; `calls["report"]` is the next report, `calls["phases"]` the
    phases asked for."""
    state: dict = {"report": build_report(), "phases": [], "lift": None}

    def experiment_report(*, experiment, phase=None):
        state["phases"].append(phase)
        return state["report"]

    def site_personalization_lift(*, site, metric=None):
        lift = state["lift"]
        return lift(site) if callable(lift) else lift

    monkeypatch.setattr("experiments.selectors.results.experiment_report", experiment_report)
    monkeypatch.setattr(
        "experiments.selectors.results.site_personalization_lift", site_personalization_lift
    )
    return state


@pytest.fixture
def experiment(site, placement, metric):
    experiment = make_experiment(site, placement, metric)
    experiment_start(experiment=experiment)
    return experiment


def url(experiment, **query) -> str:
    base = reverse("admin:experiments_experiment_results", args=[experiment.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def viewer(site):
    return client_for(user_with_role(site, Role.VIEWER, username="viewer"))


@pytest.mark.parametrize(
    ("guidance", "label"),
    [
        ("ship", "Ship: Bold hero"),
        ("keep_running", "Keep running"),
        ("stop_for_harm", "Stop: harm"),
        ("no_effect", "No effect"),
    ],
)
def test_each_guidance_state_renders_with_the_table(calls, experiment, viewer, guidance, label):
    calls["report"] = build_report(guidance)
    r = viewer.get(url(experiment))
    assert r.status_code == 200
    page = r.content.decode()
    assert f'class="pz-guidance pz-guidance-{guidance}">{label}</span>' in page
    assert EXPLANATIONS[guidance] in page
    assert METHOD_WORDS["sequential"] in page and "intervals at 95 %" in page
    assert 'id="pz-results-table"' in page and 'id="pz-srm"' not in page
    rows = re.findall(r'<tr class="pz-role-(\w+)[^"]*" data-arm="b" data-metric="(\w+)"', page)
    assert rows == [("primary", "signup"), ("secondary", "revenue"), ("guardrail", "errors")]
    assert "+60.00 %" in page and "[+31.00 %, +89.00 %]" in page  # relative effect
    assert "+0.02" in page and "[-0.01, +0.05]" in page  # absolute effect
    assert "the control&#x27;s mean is 0: no relative lift yet" in page  # the cell's reason
    assert "Holm" in page and "Guardrails: p-values adjusted by Holm" in page
    flag = {"ship": "significantly better", "stop_for_harm": "significantly worse"}
    assert flag.get(guidance, "not significant") in page
    assert "7 units were seen in more than one arm" in page
    assert "CUPED used 7 days before exposure." in page
    assert 'id="pz-too-few"' not in page
    assert calls["phases"] == [None]


def test_sample_ratio_mismatch_hides_the_table_and_shows_the_counts(calls, experiment, viewer):
    calls["report"] = build_report("check_split")
    page = viewer.get(url(experiment)).content.decode()
    assert 'id="pz-srm"' in page and "Sample ratio mismatch: results hidden" in page
    assert 'id="pz-results-table"' not in page and "data-metric=" not in page
    banner = page[page.index('id="pz-srm"') : page.index("</section>", page.index('id="pz-srm"'))]
    assert re.search(r"<td>Control</td><td>5,600</td><td>5,000</td>", banner)
    assert re.search(r"<td>Bold hero</td><td>4,400</td><td>5,000</td>", banner)
    assert "Check the split" in page
    # The effect chart is hidden with the table; the allocation (to diagnose the split) stays.
    assert 'data-chart="effect-chart"' not in page and 'data-chart="allocation-chart"' in page


def test_charts_carry_their_data_as_json(calls, experiment, viewer):
    page = viewer.get(url(experiment)).content.decode()
    specs = {
        m.group(1): json.loads(m.group(2))
        for m in re.finditer(
            r'<script id="([\w-]+)" type="application/json">(.*?)</script>', page, re.S
        )
    }
    effect, allocation = specs["effect-chart"], specs["allocation-chart"]
    assert effect["kind"] == "band" and effect["percent"] is True
    assert effect["labels"] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert effect["series"] == [
        {"label": "Bold hero", "data": [50.0] * 3, "low": [10.0] * 3, "high": [90.0] * 3}
    ]
    assert allocation["kind"] == "stacked"
    assert [s["label"] for s in allocation["series"]] == ["Control", "Bold hero"]
    assert allocation["series"][0]["data"] == [50.0] * 3
    assert "<script>" not in page.split('id="content-main"')[1]  # no inline script (CSP)


def test_bayesian_shows_chance_to_win_and_expected_loss(calls, experiment, viewer):
    calls["report"] = build_report("ship", method="bayesian")
    page = viewer.get(url(experiment)).content.decode()
    assert "Chance to win" in page and "99.9 %" in page and "Expected loss" in page
    assert "Adjusted p-value" not in page
    assert METHOD_WORDS["bayesian"] in page


def test_too_few_units_hint(calls, experiment, viewer):
    calls["report"] = build_report(units=(40, 38))
    page = viewer.get(url(experiment)).content.decode()
    assert 'id="pz-too-few"' in page and "fewer than 100" in page


def test_csv_has_one_row_per_arm_and_metric(calls, experiment, viewer):
    r = viewer.get(url(experiment, format="csv"))
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert 'filename="alpha-hero-test-phase1-results.csv"' in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [(row["arm"], row["metric"], row["role"]) for row in rows] == [
        ("b", "signup", "primary"),
        ("b", "revenue", "secondary"),
        ("b", "errors", "guardrail"),
    ]
    primary = rows[0]
    assert float(primary["effect"]) == 0.6 and primary["effect_scale"] == "relative"
    assert float(primary["ci_low"]) == 0.31 and float(primary["p_value"]) == 0.0004
    assert rows[2]["correction"] == "holm" and float(rows[2]["adjusted_p_value"]) == 0.4
    assert rows[1]["effect"] == "" and "no relative lift yet" in rows[1]["note"]


def test_csv_while_the_split_is_broken_has_no_effects(calls, experiment, viewer):
    calls["report"] = build_report("check_split")
    rows = viewer.get(url(experiment, format="csv")).content.decode().splitlines()
    assert len(rows) == 1 and rows[0].startswith("phase,arm,metric,role")


def test_phase_selector(calls, experiment, viewer):
    calls["report"] = build_report(phase=1, phases=(1,))
    assert viewer.get(url(experiment, phase=1)).status_code == 200
    assert calls["phases"] == [1]
    for bad in ("abc", "9", "-1"):  # not a phase of this experiment: a form error, never a 500
        r = viewer.get(url(experiment, phase=bad))
        assert r.status_code == 200
        assert "errornote" in r.content.decode() and "Showing the current phase." in (
            r.content.decode()
        )
    assert calls["phases"] == [1, None, None, None]


def test_a_draft_has_no_results_yet(calls, site, placement, metric, viewer):
    draft = make_experiment(site, placement, metric, key="draft-test")
    r = viewer.get(url(draft))
    assert r.status_code == 200 and "has not started" in r.content.decode()
    assert viewer.get(url(draft, format="csv"))["Content-Type"].startswith("text/html")
    assert calls["phases"] == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.MARKETER, Role.SITE_ADMIN])
def test_every_role_of_the_site_may_read(calls, experiment, site, role):
    client = client_for(user_with_role(site, role, username=f"u-{role}"))
    assert client.get(url(experiment)).status_code == 200
    assert client.get(url(experiment, format="csv")).status_code == 200


def test_another_site_is_a_404_and_anonymous_must_log_in(calls, experiment, other_site):
    outsider = client_for(user_with_role(other_site, Role.SITE_ADMIN, username="outsider"))
    assert outsider.get(url(experiment)).status_code == 404
    assert outsider.get(url(experiment, format="csv")).status_code == 404
    no_role = client_for(UserFactory(username="nobody", is_staff=True))
    assert no_role.get(url(experiment)).status_code == 404
    anonymous = Client().get(url(experiment))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert calls["phases"] == []


def test_change_page_links_to_the_results(calls, experiment, viewer):
    page = viewer.get(
        reverse("admin:experiments_experiment_change", args=[experiment.pk])
    ).content.decode()
    assert url(experiment) in page


def test_list_shows_guidance_primary_metric_and_days(calls, experiment, site, placement, viewer):
    make_experiment(site, placement, key="a-draft")
    calls["report"] = build_report("ship")
    page = viewer.get(LIST).content.decode()
    assert f'class="pz-guidance pz-guidance-ship" href="{url(experiment)}">Ship: Bold hero' in page
    assert '<td class="field-primary_metric">Signup</td>' in page
    assert '<td class="field-running_days">0</td>' in page
    assert calls["phases"] == [None]  # the draft is not analysed


def test_lift_cards_per_visible_site(calls, experiment, site, other_site, viewer):
    holdout_set(site=site, enabled=True, share=0.05)
    holdout_set(site=other_site, enabled=True, share=0.1)
    lift = PersonalizationLift(
        metric="signup",
        holdout_units=500,
        personalized_units=9500,
        holdout_mean=0.05,
        personalized_mean=0.06,
        effect=0.2,
        ci_low=0.05,
        ci_high=0.35,
        p_value=0.01,
    )
    asked: list[str] = []
    calls["lift"] = lambda s: asked.append(s.slug) or lift
    page = viewer.get(LIST).content.decode()
    assert asked == ["alpha"]  # never the other site's
    card = page[page.index('id="pz-lift"') :]
    assert 'data-site="Alpha"' in card and 'data-site="Beta"' not in card
    assert "+20.00 %" in card and "[+5.00 %, +35.00 %]" in card
    assert "0.06 over 9,500 units" in card and "0.05 over 500 units" in card
    calls["lift"] = None
    page = viewer.get(LIST).content.decode()
    assert "No holdout data yet" in page


def test_no_holdout_hint(calls, experiment, viewer):
    page = viewer.get(LIST).content.decode()
    assert "has its global holdout on" in page


def test_on_the_demo_experiments_real_data():
    """No replaced selectors: seed_demo's experiment, from its rollups."""
    from django.core.management import call_command

    from experiments.models import Experiment
    from experiments.results_display import GUIDANCE_LABELS
    from experiments.selectors.results import experiment_report
    from tenancy.models import Site

    call_command("seed_demo", "--no-admin")
    demo = Site.objects.get(slug="demo")
    experiment = Experiment.objects.get(site=demo, key="offers-free-checking")
    report = experiment_report(experiment=experiment)
    client = client_for(user_with_role(demo, Role.VIEWER, username="demo-viewer"))
    page = client.get(url(experiment)).content.decode()
    assert str(GUIDANCE_LABELS[report.analysis.guidance]) in page
    assert 'id="pz-results-table"' in page and 'data-chart="effect-chart"' in page
    assert re.findall(r'data-arm="(free-checking)" data-metric="([\w-]+)"', page) == [
        ("free-checking", "checked-out"),
        ("free-checking", "revenue"),
        ("free-checking", "orders"),
    ]
    rows = list(csv.DictReader(io.StringIO(client.get(url(experiment, format="csv")).text)))
    primary = report.analysis.cell("free-checking", "checked-out")
    assert [r["metric"] for r in rows] == ["checked-out", "revenue", "orders"]
    assert float(rows[0]["effect"]) == pytest.approx(primary.effect)
    listing = client.get(LIST).content.decode()
    assert f'class="pz-guidance pz-guidance-{report.analysis.guidance}"' in listing


def test_a_bandit_names_its_estimator(calls, experiment, viewer):
    from dataclasses import replace

    report = build_report("keep_running")
    calls["report"] = replace(
        report, mode="bandit", analysis=replace(report.analysis, estimator="hajek")
    )
    page = viewer.get(url(experiment)).content.decode()
    assert "inverse-propensity weighting (Hájek)" in page
