"""Fixtures for the delivery tests: a published configuration and API helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from content.services.drafts import (
    content_variant_create,
    placement_create,
    screen_create,
    screen_variant_create,
)
from content.services.publishing import slot_publish
from delivery import snapshot as snapshot_module
from segments.models import SegmentKind, SegmentStatus, StaticMember
from segments.services.segments import segment_create

DESIGN_DEFAULT = {"root": {"type": "Stack", "children": [{"type": "Hero"}]}}
DESIGN_RAIN = {
    "root": {"type": "Stack", "children": [{"type": "Umbrella"}]},
    "theme": {"colors": {"bg": "#223"}},
}


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    from delivery.authentication import forget_keys
    from delivery.cors import forget_origins
    from delivery.visit_buffer import visits_forget

    snapshot_module.snapshot_forget()
    forget_keys()
    forget_origins()
    visits_forget()
    yield
    snapshot_module.snapshot_forget()
    forget_keys()
    forget_origins()
    visits_forget()


def build_site_config(site) -> dict[str, Any]:
    """Segments, two placements and a screen, all published."""
    active = SegmentStatus.ACTIVE
    detroit = segment_create(
        site=site,
        key="detroit",
        name="Detroit",
        criteria={"all": [{"field": "context.city", "op": "eq", "value": "Detroit"}]},
        status=active,
    )
    rainy = segment_create(
        site=site,
        key="rainy",
        name="Rainy",
        criteria={"all": [{"field": "context.weather", "op": "eq", "value": "rain"}]},
        status=active,
    )
    adults = segment_create(
        site=site,
        key="adults",
        name="Adults",
        criteria={"all": [{"field": "profile.age", "op": "gte", "value": 18}]},
        status=active,
    )
    buyers = segment_create(
        site=site,
        key="buyers",
        name="Buyers",
        criteria={
            "all": [{"event": "purchase", "count": {"op": "gte", "value": 1}, "within_days": 30}]
        },
        status=active,
    )
    vip = segment_create(site=site, key="vip", name="VIP", kind=SegmentKind.STATIC, status=active)
    StaticMember.objects.create(segment=vip, user_id="u-vip")
    half = segment_create(
        site=site,
        key="half",
        name="Half",
        criteria={"rollout": 50, "salt": "half"},
        status=active,
    )
    hero = placement_create(site=site, key="home_hero", name="Home hero")
    content_variant_create(
        placement=hero, key="vip-hero", name="VIP", body="<p>VIP</p>", segment=vip, priority=0
    )
    content_variant_create(
        placement=hero,
        key="detroit-shoes",
        name="Detroit",
        body="<p>Detroit shoes</p>",
        segment=detroit,
        priority=1,
    )
    content_variant_create(
        placement=hero, key="rain", name="Rain", body="<p>Umbrellas</p>", segment=rainy, priority=2
    )
    content_variant_create(
        placement=hero, key="buyer", name="Buyer", body="<p>Thanks</p>", segment=buyers, priority=3
    )
    content_variant_create(
        placement=hero, key="hero-default", name="Default", body="<p>Welcome</p>"
    )
    slot_publish(slot=hero)
    banner = placement_create(site=site, key="banner", name="Banner", kind="text")
    content_variant_create(
        placement=banner, key="adult-banner", name="Adults", body="Hi grown-up", segment=adults
    )
    content_variant_create(
        placement=banner,
        key="half-banner",
        name="Half",
        body="Rolled out",
        segment=half,
        priority=200,
    )
    content_variant_create(placement=banner, key="banner-default", name="Default", body="Hello")
    slot_publish(slot=banner)
    home = screen_create(site=site, key="home", name="Home")
    screen_variant_create(
        screen=home, key="rainy-evening", name="Rain", design=DESIGN_RAIN, segment=rainy
    )
    screen_variant_create(screen=home, key="home-default", name="Default", design=DESIGN_DEFAULT)
    slot_publish(slot=home)
    return {"hero": hero, "banner": banner, "home": home, "detroit": detroit, "rainy": rainy}


@pytest.fixture
def config(site):
    return build_site_config(site)


def post(client, path: str, body: Any, key: str | None = None, **extra: Any):
    headers = {}
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
    headers.update(extra)
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic("POST", path, data, content_type="application/json", **headers)


def put(client, path: str, body: Any, key: str | None = None, **extra: Any):
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"} if key else {}
    headers.update(extra)
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic("PUT", path, data, content_type="application/json", **headers)


@pytest.fixture
def decide(api_client, delivery_key, config):
    def call(body: dict[str, Any], key: str | None = None, **extra: Any):
        return post(api_client, "/api/v1/decide", body, key or delivery_key, **extra)

    return call


@pytest.fixture
def send_events(api_client, delivery_key):
    def call(body: Any, key: str | None = None, **extra: Any):
        return post(api_client, "/api/v1/events", body, key or delivery_key, **extra)

    return call
