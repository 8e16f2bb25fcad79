"""The demo page (`/demo/`, when DEBUG or PERSONALIZE_DEMO is on): it owns the page that
shows a site's personalised content for preset visitor contexts and its presets. It uses
the site's one demo delivery key (delivery.demo_keys: the key `seed_demo` printed, reused
across process starts; a delivery key is public by design). The page runs the JS client
with that key and also renders a placement server-side through the template tag, so both
integration paths are visible side by side.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from delivery.demo_keys import demo_key
from delivery.snapshot import snapshot_get
from tenancy.models import Site

PRESETS: list[dict[str, Any]] = [
    {
        "key": "anonymous",
        "label": "Anonymous on a desktop",
        "visitor": {},
        "context": {"device_type": "desktop", "os": "Windows"},
    },
    {
        "key": "rainy-detroit",
        "label": "Rainy evening in Detroit, iPhone",
        "visitor": {},
        "context": {
            "device_type": "mobile",
            "os": "iOS",
            "os_version": "17.2",
            "city": "Detroit",
            "weather": "rain",
            "local_time": "2026-11-22T19:05:00-05:00",
        },
    },
    {
        "key": "shoe-shopper",
        "label": "Woman, 27, Detroit, likes shoes",
        "visitor": {},
        "profile": {"age": 27, "gender": "female", "city": "Detroit", "interests": ["shoes"]},
        "context": {"city": "Detroit"},
    },
    {
        "key": "in-car",
        "label": "Using the app in a car",
        "visitor": {},
        "context": {"in_car": True, "channel": "app", "device_type": "mobile"},
    },
    {
        "key": "college",
        "label": "From a college landing page",
        "visitor": {},
        "context": {"landing_page": "/college", "utm_campaign": "college"},
    },
    {
        "key": "no-consent",
        "label": "No consent (nothing stored)",
        "visitor": {"consent": False},
        "context": {"device_type": "desktop"},
    },
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
    placements = sorted(snapshot.published.placements)
    screens = sorted(snapshot.published.screens)
    return render(
        request,
        "delivery/demo.html",
        {
            "site": site,
            "delivery_key": demo_key(site=site, kind="delivery"),
            "placements": placements,
            "screens": screens,
            "presets": PRESETS,
            "segments": snapshot.active_segments,
        },
    )
