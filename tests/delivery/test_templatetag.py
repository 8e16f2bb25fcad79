"""`{% personalize %}` renders the decided variant for the request's visitor."""

from __future__ import annotations

from django.template import Context, Template
from django.test import RequestFactory


def render(source, request, **ctx):
    return Template("{% load personalize %}" + source).render(Context({"request": request, **ctx}))


def test_renders_for_the_cookie_visitor(config, site, settings, django_assert_max_num_queries):
    settings.PERSONALIZE_SITE = site.slug
    request = RequestFactory().get("/")
    request.COOKIES["pz_vid"] = "anon-tag"
    html = render('{% personalize "home_hero" %}|{% personalize "banner" %}', request)
    assert (
        '<div data-personalize-rendered="home_hero" data-personalize-slot="home_hero" '
        'data-variant="hero-default" data-reason="default" '
        'data-reason-json="{&quot;kind&quot;:&quot;default&quot;}"><p>Welcome</p></div>' in html
    )
    from segments.bucketing import hash_unit

    expected = "half-banner" if hash_unit("half", "anon-tag") < 0.5 else "banner-default"
    assert (
        'data-personalize-rendered="banner" data-personalize-slot="banner" '
        f'data-variant="{expected}"' in html
    )


def test_known_visitor_and_decision_tag(config, site):
    from segments.models import Profile

    Profile.objects.create(site=site, user_id="u-1", traits={"age": 40})
    request = RequestFactory().get("/")
    request.personalize_user_id = "u-1"
    html = render(
        '{% personalize_decision "banner" site="alpha" as b %}'
        "{{ b.variant }}/{{ b.reason.segment }}",
        request,
    )
    assert html == "adult-banner/adults"


def test_text_is_escaped_and_unknown_is_empty(config, site):
    from content.models import Placement
    from content.services.drafts import content_variant_create, placement_create
    from content.services.publishing import slot_publish

    p = placement_create(site=site, key="note", name="Note", kind="text")
    content_variant_create(placement=p, key="d", name="d", body="<b>x</b>")
    slot_publish(slot=p)
    assert Placement.objects.filter(key="note").exists()
    html = render(
        '{% personalize "note" site="alpha" %}{% personalize "nope" site="alpha" %}',
        RequestFactory().get("/"),
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert '<div data-personalize-rendered="nope"></div>' in html


def test_no_consent_cookie(config, site):
    request = RequestFactory().get("/")
    request.COOKIES.update({"pz_vid": "anon-1", "pz_consent": "0"})
    request.personalize_user_id = "u-9"
    render('{% personalize "home_hero" site="alpha" %}', request)
    from segments.models import Profile

    assert not Profile.objects.exists()


def test_unknown_site_renders_empty_slot(db):
    html = render('{% personalize "home_hero" site="nope" %}', RequestFactory().get("/"))
    assert html == '<div data-personalize-rendered="home_hero"></div>'


def test_renders_in_the_request_language(config, site, settings):
    from content.services.drafts import variant_translations_set
    from content.services.publishing import slot_publish

    variant_translations_set(
        variant=config["hero"].variants.get(key="hero-default"),
        translations={"fr": {"body": "<p>Bienvenue</p>"}},
    )
    slot_publish(slot=config["hero"])
    settings.PERSONALIZE_SITE = site.slug
    french = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9,en;q=0.5")
    assert "<p>Bienvenue</p>" in render('{% personalize "home_hero" %}', french)
    german = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="de")
    assert "<p>Welcome</p>" in render('{% personalize "home_hero" %}', german)


def test_a_broker_outage_drops_the_impression_and_still_renders(
    config, site, settings, monkeypatch, caplog
):
    from kombu.exceptions import OperationalError

    from delivery.tasks import events_record_task
    from tenancy import failopen

    def broker_down(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    settings.PERSONALIZE_SITE = site.slug
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(events_record_task, "delay", broker_down)
    request = RequestFactory().get("/")
    request.COOKIES["pz_vid"] = "anon-outage"
    html = render('{% personalize "home_hero" %}', request)
    assert 'data-variant="hero-default"' in html
    assert "dropped" in caplog.text and "events_record" in caplog.text
    assert not failopen.broker_breaker.closed()  # the next pages skip the broker for a while


def test_echoes_the_assignments_cookie_and_drops_what_is_malformed(config, site):
    import json
    from urllib.parse import quote

    from delivery.snapshot import snapshot_forget
    from experiments.assignment import assign
    from experiments.models import Arm, Experiment, ExperimentPhase
    from tenancy.services import site_config_bump

    experiment = Experiment.objects.create(
        site=site, key="tag-test", name="t", placement=config["banner"], status="running"
    )
    Arm.objects.create(experiment=experiment, key="control", is_control=True)
    variant = config["banner"].variants.get(key="adult-banner")
    Arm.objects.create(experiment=experiment, key="treat", content_variant=variant)
    ExperimentPhase.objects.create(
        experiment=experiment, number=1, started_at=experiment.created_at, coverage=1.0
    )
    site_config_bump(site_id=site.pk)
    snapshot_forget(site.pk)
    from delivery.snapshot import snapshot_get

    compiled = snapshot_get(site.pk).experiments[0]
    unit = next(
        u for u in (f"anon-{i}" for i in range(100)) if assign(compiled, u).arm.key == "control"
    )
    request = RequestFactory().get("/")
    request.COOKIES["pz_vid"] = unit
    cookie = {"tag-test": "1:treat", "bad key": "1:x", "other": 3}
    request.COOKIES["pz_asg"] = quote(json.dumps(cookie))  # as document.cookie writes it
    html = render('{% personalize "banner" site="alpha" %}', request)
    assert 'data-variant="adult-banner"' in html  # the echoed arm, not the hash's control
    assert request.personalize_assignments == {"tag-test": "1:treat"}
    for garbage in ("not json", "[1]", "%7B"):
        request = RequestFactory().get("/")
        request.COOKIES.update({"pz_vid": unit, "pz_asg": garbage})
        html = render('{% personalize "banner" site="alpha" %}', request)
        assert '"arm":"control"' in html.replace("&quot;", '"')


def test_the_cookies_middleware_keeps_a_server_rendered_visitor_and_their_arm(config, site):
    """Without the JS client, the visitor id the tag made up and the arm it answered come
    back on the next page through cookies, so the same person keeps the same variant."""
    from django.http import HttpResponse

    from delivery.middleware import PersonalizeCookiesMiddleware
    from delivery.snapshot import snapshot_forget
    from experiments.models import Arm, Experiment, ExperimentPhase
    from tenancy.services import site_config_bump

    experiment = Experiment.objects.create(
        site=site, key="mw-test", name="t", placement=config["banner"], status="running"
    )
    Arm.objects.create(experiment=experiment, key="control", is_control=True)
    variant = config["banner"].variants.get(key="adult-banner")
    Arm.objects.create(experiment=experiment, key="treat", content_variant=variant)
    ExperimentPhase.objects.create(
        experiment=experiment, number=1, started_at=experiment.created_at, coverage=1.0
    )
    site_config_bump(site_id=site.pk)
    snapshot_forget(site.pk)

    def page(request):
        return HttpResponse(render('{% personalize "banner" site="alpha" %}', request))

    middleware = PersonalizeCookiesMiddleware(page)
    first = RequestFactory().get("/")
    response = middleware(first)
    visitor = response.cookies["pz_vid"].value
    assert visitor == first._personalize_vid and visitor.startswith("srv-")
    arm = first.personalize_assignments["mw-test"]
    assert response.cookies["pz_asg"]["samesite"] == "Lax"

    second = RequestFactory().get("/")
    second.COOKIES.update({k: m.value for k, m in response.cookies.items()})
    again = middleware(second)
    assert second.personalize_assignments == {"mw-test": arm}
    assert "pz_vid" not in again.cookies and "pz_asg" not in again.cookies  # nothing new
    assert again.content == response.content  # same visitor, same arm, same variant

    withheld = RequestFactory().get("/")
    withheld.COOKIES["pz_consent"] = "0"
    assert not middleware(withheld).cookies
