"""The demo page (`/demo/`, when DEBUG or PERSONALIZE_DEMO is on): it owns the page that
shows a site's personalised content for preset visitor contexts and its presets. It uses
the site's one demo delivery key (delivery.demo_keys: the key `seed_demo` printed, reused
across process starts; a delivery key is public by design). The page runs the JS client
with that key and also renders a placement server-side through the template tag, so both
integration paths are visible side by side.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from delivery.demo_keys import demo_key
from delivery.snapshot import snapshot_get
from tenancy.models import Site


class PresetExpectation(TypedDict):
    """What a preset is for: the segment it lands in and the variant that segment gets."""

    segment: str | None  # None: no segment (the defaults)
    slot: str  # placement or screen key
    variant: str


class Preset(TypedDict):
    key: str
    label: str
    visitor: dict[str, Any]
    profile: dict[str, Any]
    context: dict[str, Any]
    events: list[dict[str, Any]]  # inline recent events (decide's `events`)
    expect: PresetExpectation


def _preset(
    key: str,
    label: str,
    expect: PresetExpectation,
    *,
    context: dict[str, Any],
    profile: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    visitor: dict[str, Any] | None = None,
) -> Preset:
    return {
        "key": key,
        "label": label,
        "visitor": visitor or {},
        "profile": profile or {},
        # A fixed wall clock, so that no preset lands in "night" by the hour it is run at.
        "context": {"local_time": "2026-11-22T12:30:00-05:00", **context},
        "events": events or [],
        "expect": expect,
    }


def _shoe_purchase(now: datetime, days_ago: int, price: float) -> dict[str, Any]:
    when = now - timedelta(days=days_ago)
    return {
        "name": "purchase",
        "properties": {"category": "shoes", "price": price},
        "timestamp": when.isoformat(),
    }


def demo_presets(*, now: datetime) -> list[Preset]:
    """The visitors the demo offers, each landing in a different demo segment (the keys
    are those of segments/demo.py and content/demo.py)."""
    return [
        _preset(
            "anonymous",
            "Anonymous on a desktop",
            {"segment": None, "slot": "home_hero", "variant": "default"},
            context={"device_type": "desktop", "os": "Windows"},
        ),
        _preset(
            "shoe-shopper",
            "Woman, 27, Detroit, likes shoes",
            {"segment": "detroit-shoe-shoppers", "slot": "home_hero", "variant": "detroit-shoes"},
            profile={"age": 27, "gender": "female", "city": "Detroit", "interests": ["shoes"]},
            # Her app keeps her recent purchases and sends them along (decide's `events`).
            events=[_shoe_purchase(now, 12, 34.99), _shoe_purchase(now, 40, 42.0)],
            context={"city": "Detroit", "device_type": "mobile", "os": "Android"},
        ),
        _preset(
            "rainy-evening",
            "Rainy evening in Detroit, iPhone",
            {"segment": "rainy-evening", "slot": "home", "variant": "rainy-evening"},
            context={
                "device_type": "mobile",
                "os": "iOS",
                "os_version": "17.2",
                "city": "Detroit",
                "weather": "rain",
                "local_time": "2026-11-22T19:05:00-05:00",
            },
        ),
        _preset(
            "night",
            "Night owl, 23:40",
            {"segment": "night", "slot": "home", "variant": "night"},
            context={"device_type": "mobile", "local_time": "2026-11-22T23:40:00-05:00"},
        ),
        _preset(
            "in-car",
            "Using the app in a car",
            {"segment": "in-car", "slot": "home", "variant": "in-car"},
            context={"in_car": True, "channel": "app", "device_type": "mobile"},
        ),
        _preset(
            "old-ios-app",
            "iOS 16 with app version 3.1",
            {"segment": "ios-legacy-app", "slot": "app_banner", "variant": "upgrade-app"},
            context={
                "device_type": "mobile",
                "os": "iOS",
                "os_version": "16.4",
                "app_version": "3.1",
                "channel": "app",
            },
        ),
        _preset(
            "college",
            "From a college landing page",
            {"segment": "college-landing", "slot": "offers", "variant": "free-checking"},
            context={"landing_page": "/college", "utm_campaign": "college"},
        ),
        _preset(
            "high-balance",
            "Premier customer, $120k balance",
            {"segment": "high-balance", "slot": "offers", "variant": "retirement-advice"},
            profile={"balance": 120000, "loyalty_tier": "silver"},
            context={"device_type": "desktop"},
        ),
        _preset(
            "loyal",
            "Gold-tier loyal customer",
            {"segment": "loyal-customers", "slot": "home_hero", "variant": "loyal-discount"},
            profile={"loyalty_tier": "gold"},
            context={"device_type": "tablet"},
        ),
        _preset(
            "no-consent",
            "No consent (nothing stored)",
            {"segment": None, "slot": "home_hero", "variant": "default"},
            visitor={"consent": False},
            context={"device_type": "desktop"},
        ),
    ]


def demo_enabled() -> bool:
    return bool(settings.PERSONALIZE_DEMO)


def demo_page(request: HttpRequest) -> HttpResponse:
    if not demo_enabled():
        raise Http404("The demo is off (DEBUG or PERSONALIZE_DEMO).")
    slug = request.GET.get("site") or getattr(settings, "PERSONALIZE_SITE", "") or "demo"
    site = Site.objects.filter(slug=slug).first()
    if site is None:
        raise Http404(f"No site {slug!r}: run `manage.py seed_demo` or pass ?site=<slug>.")
    snapshot = snapshot_get(site.pk)
    # The hero first: it is also the one the template tag renders server-side.
    placements = sorted(snapshot.published.placements, key=lambda key: (key != "home_hero", key))
    screens = sorted(snapshot.published.screens)
    return render(
        request,
        "delivery/demo.html",
        {
            "site": site,
            "delivery_key": demo_key(site=site, kind="delivery"),
            "placements": placements,
            "screens": screens,
            "presets": demo_presets(now=timezone.now()),
            "segments": snapshot.active_segments,
        },
    )
