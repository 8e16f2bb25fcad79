"""Server-rendered personalization: it owns the `{% personalize %}` and
`{% personalize_decision %}` template tags, which decide in-process (the same service and
engine as the API, no HTTP hop), once per request and site for every tag on the page, and
render a placement's content. The visitor is the request's `pz_vid` cookie
(PERSONALIZE_VISITOR_COOKIE), the same id the JS client stores;
`request.personalize_user_id` (set it in your middleware) makes them a known visitor; the
`pz_consent=0` cookie turns consent off.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import template
from django.conf import settings
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from delivery import services
from delivery.engine import DecideAnswer, SlotDecision
from delivery.validation import DecideInput
from tenancy.failopen import cache_get_or_none, cache_set_quietly
from tenancy.models import Site

register = template.Library()

SITE_CACHE_SECONDS = 300


def _site_id(slug: str) -> int | None:
    key = f"personalize:site-slug:{slug}"
    site_id = cache_get_or_none(key)
    if site_id is None:
        site_id = Site.objects.filter(slug=slug).values_list("pk", flat=True).first() or 0
        cache_set_quietly(key, site_id, SITE_CACHE_SECONDS)
    return site_id or None


def visitor_from_request(request: Any) -> tuple[str, str | None, bool]:
    cookie = getattr(settings, "PERSONALIZE_VISITOR_COOKIE", "pz_vid")
    cookies = getattr(request, "COOKIES", {}) or {}
    consent = cookies.get("pz_consent") != "0"
    visitor_id = cookies.get(cookie) if consent else None
    if not visitor_id or len(visitor_id) > 255:
        visitor_id = getattr(request, "_personalize_vid", None) or f"srv-{uuid.uuid4().hex}"
        if request is not None:
            request._personalize_vid = visitor_id
    user_id = getattr(request, "personalize_user_id", None)
    return visitor_id, (str(user_id) if user_id else None), consent


def decision_for_request(request: Any, site_slug: str) -> DecideAnswer | None:
    """Every placement of the site decided for this request's visitor (memoised per request)."""
    memo = getattr(request, "_personalize_decisions", None)
    if memo is None:
        memo = {}
        if request is not None:
            request._personalize_decisions = memo
    if site_slug in memo:
        return memo[site_slug]
    site_id = _site_id(site_slug)
    if site_id is None:
        memo[site_slug] = None
        return None
    visitor_id, user_id, consent = visitor_from_request(request)
    meta = getattr(request, "META", {}) or {}
    data = DecideInput(
        visitor_id=visitor_id,
        user_id=user_id,
        consent=consent,
        visitor_extra={},
        profile={},
        context={"landing_page": getattr(request, "path", "")} if request is not None else {},
        placements=None,  # everything: one decide serves every tag on the page
        screens=None,
        explain=False,
    )
    decision = services.decide_for_visitor(
        site_id=site_id,
        data=data,
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        ip=meta.get("REMOTE_ADDR", ""),
    )
    for job in decision.followups:  # a Celery publish (or inline when eager)
        job()
    memo[site_slug] = decision.body
    return decision.body


def render_content(content: dict[str, Any] | None) -> SafeString:
    """HTML is sanitised when edited (content app), so it is emitted as is; the rest escaped."""
    if not content:
        return mark_safe("")
    kind, body = content.get("kind"), content.get("body")
    if kind == "html":
        return mark_safe(body or "")
    if kind == "image" and isinstance(body, dict):
        img = format_html('<img src="{}" alt="{}">', body.get("src", ""), body.get("alt", ""))
        return format_html('<a href="{}">{}</a>', body["href"], img) if body.get("href") else img
    if kind == "json":
        return escape(json.dumps(body, ensure_ascii=False))
    return escape(body if isinstance(body, str) else json.dumps(body))


@register.simple_tag(takes_context=True)
def personalize(context: template.Context, placement: str, site: str | None = None) -> Any:
    """Render the placement's decided content (PERSONALIZE_SITE's, or `site`'s):

    {% load personalize %}
    {% personalize "home_hero" %}
    {% personalize "home_hero" site="demo" %}
    """
    decided = personalize_decision(context, placement, site)
    if decided is None:
        return format_html('<div data-personalize-rendered="{}"></div>', placement)
    return format_html(
        '<div data-personalize-rendered="{}" data-variant="{}">{}</div>',
        placement,
        decided["variant"],
        render_content(decided["content"]),
    )


@register.simple_tag(takes_context=True)
def personalize_decision(
    context: template.Context, placement: str, site: str | None = None
) -> SlotDecision | None:
    """The placement's decision (variant, content, reason):
    `{% personalize_decision "home_hero" as hero %}{{ hero.variant }}`."""
    site_slug = site or getattr(settings, "PERSONALIZE_SITE", "")
    body = decision_for_request(context.get("request"), site_slug) if site_slug else None
    return (body or {}).get("placements", {}).get(placement)
