"""The admin crawler: every registered model's changelist, add page and change page (for an
object of each model built by factories and services), as a superuser and as each role of one
site while a second site has objects of every model too. No page may answer a 500, and a role
user's changelists list only their own site's objects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import Model
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from analytics.services.metrics import metric_create
from content.models import DesignSchema, Placement, Screen
from content.services.publishing import slot_publish, slot_schedule
from experiments.models import Assignment, Experiment
from experiments.services.experiments import experiment_create, experiment_start
from experiments.services.holdout import holdout_set
from experiments.services.layers import layer_create
from experiments.services.optimization import optimization_create
from segments.models import SegmentKind
from tenancy.models import Site
from tenancy.roles import Role
from tenancy.services import site_create
from tests.content.factories import (
    ScreenFactory,
    ScreenVariantFactory,
    SegmentFactory,
    placement_with_variants,
)
from tests.factories import UserFactory, make_key, user_with_role
from tests.segments.factories import EventFactory, ProfileFactory, StaticMemberFactory

pytestmark = pytest.mark.django_db

ROLES = [Role.VIEWER, Role.EDITOR, Role.MARKETER, Role.PUBLISHER, Role.SITE_ADMIN]


def _world(site: Site) -> None:
    """One object of every site-owned model (more where a model has kinds)."""
    make_key(site, "delivery")
    user_with_role(site, Role.VIEWER, username=f"member-{site.slug}")
    vip = SegmentFactory(site=site, key="vip")
    StaticMemberFactory(
        segment__site=site, segment__key="imported", segment__kind=SegmentKind.STATIC
    )
    profile = ProfileFactory(site=site, user_id=f"{site.slug}-ana", traits={"city": "Detroit"})
    EventFactory(profile=profile, properties={"category": "shoes"})
    placement = placement_with_variants(site, targeted=[("vip", vip, 10)])
    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default")
    slot_publish(slot=placement)
    slot_publish(slot=screen)
    slot_schedule(slot=placement, action="unpublish", run_at=timezone.now() + timedelta(days=1))
    _experiments(site, placement, vip)


def _experiments(site: Site, placement: Placement, vip: object) -> None:
    """A layer, a running experiment with arms, a metric and an assignment, a global holdout."""
    metric = metric_create(site=site, key="signup", name="Signup", kind="conversion", event="x")
    layer = layer_create(site=site, key="hero", name="Hero")
    experiment = experiment_create(
        site=site,
        key="hero-test",
        name="Hero test",
        placement=placement,
        audience=vip,
        layer=layer,
        arms=[
            {"key": "control", "is_control": True},
            {"key": "vip", "content_variant": placement.variants.get(key="vip")},
        ],
        metrics=[{"metric": metric, "role": "primary", "cuped_days": 7}],
    )
    experiment_start(experiment=experiment)
    Assignment.objects.create(
        site=site,
        experiment=experiment,
        phase=1,
        unit_id=f"{site.slug}-anon",
        arm_key="vip",
        probability=0.5,
        first_exposed_at=timezone.now(),
    )
    holdout_set(site=site, enabled=True, share=0.05)
    optimization_create(  # a draft beside the running experiment
        site=site,
        key="hero-opt",
        name="Hero optimized",
        placement=placement,
        goal=metric,
        features=[{"kind": "category", "field": "context.device_type"}],
        arms=[
            {"key": key, "content_variant": placement.variants.get(key=key)}
            for key in ("default", "vip")
        ],
    )


@pytest.fixture
def sites() -> tuple[Site, Site]:
    ours = site_create(name="Ours", slug="ours")
    theirs = site_create(name="Theirs", slug="theirs")
    for site in (ours, theirs):
        _world(site)
    Group.objects.create(name="Editors")
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="tick", task="content.run_due_schedules", interval=interval)
    CrontabSchedule.objects.create(minute="0")
    SolarSchedule.objects.create(event="sunrise", latitude=42.3, longitude=-83.0)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    assert DesignSchema.objects.filter(site=ours).exists()
    return ours, theirs


def _site_of(obj: Model) -> int | None:
    if isinstance(obj, Site):
        return obj.pk
    return getattr(obj, "site_id", None)


def _url(model: type[Model], page: str, *args: Any) -> str | None:
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)
    except NoReverseMatch:
        return None


def _crawl(client: Client, own_site: Site | None, other_site: Site) -> list[str]:
    """Every page of every registered model; returns what went wrong (empty when all is well)."""
    problems: list[str] = []
    visited = 0
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        changelist = client.get(_url(model, "changelist"))
        visited += 1
        if changelist.status_code >= 500:
            problems.append(f"{label} changelist: {changelist.status_code}")
            continue
        if own_site is not None and changelist.status_code == 200:
            listed = {_site_of(obj) for obj in changelist.context["cl"].result_list}
            if other_site.pk in listed:
                problems.append(f"{label} changelist lists the other site's objects")
        add = client.get(_url(model, "add"))
        visited += 1
        if add.status_code >= 500:
            problems.append(f"{label} add: {add.status_code}")
        if not model._meta.managed:
            continue  # no table (e.g. analytics' "Reports" entry): nothing to change
        objects = model_admin.model._default_manager.all()
        for obj in [
            objects.filter(**_own_filter(model, own_site or other_site)).first(),
            objects.filter(**_own_filter(model, other_site)).first(),
        ]:
            if obj is None:
                continue
            change = client.get(_url(model, "change", obj.pk))
            visited += 1
            if change.status_code >= 500:
                problems.append(f"{label} change {obj.pk}: {change.status_code}")
            theirs = own_site is not None and _site_of(obj) == other_site.pk
            if theirs and change.status_code == 200:
                problems.append(f"{label} change page of the other site's object is open")
    assert visited > 3 * len(admin.site._registry)
    for path in _slot_pages(own_site or other_site):
        page = client.get(path)
        if page.status_code >= 500:
            problems.append(f"{path}: {page.status_code}")
    return problems


def _slot_pages(site: Site) -> list[str]:
    """The content admin's own views: history, one revision, scheduling and the previews."""
    paths = [reverse("admin:index"), reverse("admin:content_preview_visitor")]
    paths.append(reverse("admin:content_preview_segment"))
    for model in (Placement, Screen):
        slot = model.objects.get(site=site, key="home_hero" if model is Placement else "home")
        for name, args in [("revisions", [slot.pk]), ("revision", [slot.pk, 1])]:
            paths.append(_url(model, name, *args))
        paths.append(_url(model, "schedule", slot.pk))
    experiment = Experiment.objects.get(site=site, key="hero-test")
    paths.append(_url(Experiment, "stop", experiment.pk))
    results = _url(Experiment, "results", experiment.pk)
    paths += [results, f"{results}?phase=1", f"{results}?phase=x", f"{results}?format=csv"]
    return paths


def _own_filter(model: type[Model], site: Site) -> dict[str, Any]:
    if model is Site:
        return {"pk": site.pk}
    names = {f.name for f in model._meta.get_fields()}
    return {"site": site} if "site" in names else {}


def test_every_admin_page_as_superuser(sites: tuple[Site, Site]) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(username="root", is_superuser=True))
    assert _crawl(client, None, sites[1]) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_as_each_role(sites: tuple[Site, Site], role: Role) -> None:
    ours, theirs = sites
    client = Client(raise_request_exception=False)
    client.force_login(user_with_role(ours, role, username=f"crawler-{role}"))
    assert _crawl(client, ours, theirs) == []
