"""Demo content for `manage.py seed_demo` (idempotent): the `home_hero` (HTML), `offers` (JSON
with a schema) and `app_banner` (image) placements and the `home` screen, each with variants
for the demo segments and a default. It runs after the segments demo, skips (and reports) a
variant whose segment is missing, publishes everything and, on a re-run, publishes only what
changed. A few variants have French and Spanish versions (the demo site publishes `fr` and
`es` besides English), one left untranslated on purpose so the admin shows it missing.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from content.models import DesignSchema, Placement, Screen
from content.models.slots import PlacementKind
from content.schemas import default_design_schema
from content.selectors.revisions import slot_has_unpublished_changes
from content.services.drafts import (
    content_variant_create,
    content_variant_update,
    placement_create,
    screen_create,
    screen_variant_create,
    screen_variant_update,
    variant_translations_set,
)
from content.services.publishing import slot_publish
from segments.models import Segment
from tenancy.models import Site

DEMO_LANGUAGES = ["fr", "es"]
# Each audience names the keys it may have on the demo site, first match wins.
AUDIENCES = {
    "detroit-shoppers": ["detroit-shoppers", "detroit-shoe-shoppers"],
    "ios-old-app": ["ios-old-app", "ios-legacy-app"],
    "college-landing": ["college-landing"],
    "rainy-evening": ["rainy-evening"],
    "night": ["night", "at-night", "nighttime"],
    "in-car": ["in-car"],
    "high-balance": ["high-balance"],
    "loyal-customers": ["loyal-customers"],
}

OFFER_SCHEMA = {
    "type": "object",
    "required": ["title", "text", "cta"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "maxLength": 80},
        "text": {"type": "string", "maxLength": 400},
        "cta": {
            "type": "object",
            "required": ["label", "href"],
            "properties": {"label": {"type": "string"}, "href": {"type": "string"}},
        },
        "badge": {"type": "string"},
    },
}


def _offer(title: str, text: str, label: str, href: str, **extra: Any) -> str:
    return json.dumps(
        {"title": title, "text": text, "cta": {"label": label, "href": href}, **extra}, indent=2
    )


def _design(theme: dict, *children: dict) -> dict:
    return {"root": {"type": "Screen", "children": list(children)}, "theme": theme}


def _c(type_: str, children: list | None = None, **props: Any) -> dict:
    node: dict[str, Any] = {"type": type_, "props": props}
    if children:
        node["children"] = children
    return node


LIGHT = {"colors": {"background": "#ffffff", "text": "#1a1a2e", "accent": "#0a66c2"}, "spacing": 8}
DARK = {"colors": {"background": "#0b1020", "text": "#e8eaf6", "accent": "#7aa2ff"}, "spacing": 8}
RAIN = {"colors": {"background": "#1e2a38", "text": "#f0f4f8", "accent": "#4fc3f7"}, "spacing": 8}
CAR = {"colors": {"background": "#000000", "text": "#ffffff", "accent": "#ffb300"}, "spacing": 16}

PLACEMENTS: list[dict[str, Any]] = [
    {
        "key": "home_hero",
        "name": "Home page hero",
        "description": "The banner at the top of the home page.",
        "kind": PlacementKind.HTML,
        "variants": [
            {
                "key": "detroit-shoes",
                "name": "Detroit shoe discount",
                "audience": "detroit-shoppers",
                "priority": 10,
                "body": "<h2>20% off shoes under $50</h2><p>For our Detroit shoppers, this week "
                'only. <a href="/shoes?promo=DETROIT20">Shop shoes</a></p>',
                "translations": {  # no Spanish yet: the admin lists it as missing
                    "fr": "<h2>20 % de réduction sur les chaussures à moins de 50 $</h2><p>Pour "
                    "nos clients de Detroit, cette semaine seulement. "
                    '<a href="/shoes?promo=DETROIT20">Voir les chaussures</a></p>',
                },
            },
            {
                "key": "loyal-discount",
                "name": "Loyalty discount",
                "audience": "loyal-customers",
                "priority": 20,
                "body": "<h2>Thank you for staying with us</h2><p>15% off everything with code "
                "<strong>LOYAL15</strong>.</p>",
            },
            {
                "key": "default",
                "name": "Welcome",
                "body": "<h2>Welcome to Demo Bank &amp; Shop</h2><p>Banking and shopping in one "
                'place. <a href="/accounts">Open an account</a></p>',
                "translations": {
                    "fr": "<h2>Bienvenue chez Demo Bank &amp; Shop</h2><p>La banque et le "
                    'shopping au même endroit. <a href="/accounts">Ouvrir un compte</a></p>',
                    "es": "<h2>Bienvenido a Demo Bank &amp; Shop</h2><p>Banca y compras en un "
                    'solo lugar. <a href="/accounts">Abrir una cuenta</a></p>',
                },
            },
        ],
    },
    {
        "key": "offers",
        "name": "Offers",
        "description": "The offer card on the accounts page (JSON, rendered by the app).",
        "kind": PlacementKind.JSON,
        "json_schema": OFFER_SCHEMA,
        "variants": [
            {
                "key": "free-checking",
                "name": "Free checking for students",
                "audience": "college-landing",
                "priority": 10,
                "body": _offer(
                    "Free checking for students",
                    "No monthly fees while you study, and a $50 welcome bonus.",
                    "Open free checking",
                    "/accounts/checking?plan=student",
                    badge="Students",
                ),
            },
            {
                "key": "retirement-advice",
                "name": "Retirement advice",
                "audience": "high-balance",
                "priority": 20,
                "body": _offer(
                    "Plan your retirement with an advisor",
                    "A free session with a certified advisor for our premier customers.",
                    "Book a session",
                    "/advice/retirement",
                ),
            },
            {
                "key": "default",
                "name": "Savings account",
                "body": _offer(
                    "A savings account that works for you",
                    "3.1% APY, no minimum balance.",
                    "Start saving",
                    "/accounts/savings",
                ),
                "translations": {
                    "fr": _offer(
                        "Un compte d'épargne qui travaille pour vous",
                        "3,1 % de rendement, sans solde minimum.",
                        "Commencer à épargner",
                        "/accounts/savings",
                    ),
                    "es": _offer(
                        "Una cuenta de ahorro que trabaja para usted",
                        "3,1 % TAE, sin saldo mínimo.",
                        "Empezar a ahorrar",
                        "/accounts/savings",
                    ),
                },
            },
        ],
    },
    {
        "key": "app_banner",
        "name": "App banner",
        "description": "Image banner in the mobile app.",
        "kind": PlacementKind.IMAGE,
        "variants": [
            {
                "key": "upgrade-app",
                "name": "Please upgrade the app",
                "audience": "ios-old-app",
                "priority": 10,
                "body": json.dumps(
                    {
                        "src": "/static/demo/upgrade.svg",
                        "alt": "A faster app is waiting: update to 3.2",
                        "href": "https://apps.apple.com/app/id000000000",
                    },
                    indent=2,
                ),
            },
            {
                "key": "default",
                "name": "Spring sale",
                "body": json.dumps(
                    {"src": "/static/demo/spring.svg", "alt": "Spring sale", "href": "/sale"},
                    indent=2,
                ),
            },
        ],
    },
]

SCREENS: list[dict[str, Any]] = [
    {
        "key": "home",
        "name": "App home screen",
        "description": "The first screen of the mobile app.",
        "variants": [
            {
                "key": "in-car",
                "name": "In the car: big buttons, no reading",
                "audience": "in-car",
                "priority": 5,
                "design": _design(
                    CAR,
                    _c("BigButton", label="Call support", action="tel:+18005550100"),
                    _c("BigButton", label="Find an ATM nearby", action="app://atm"),
                ),
            },
            {
                "key": "rainy-evening",
                "name": "Rainy evening: stay-in offers",
                "audience": "rainy-evening",
                "priority": 10,
                "design": _design(
                    RAIN,
                    _c("Hero", title="Cosy night in?", image="/static/demo/rain.svg"),
                    _c("Placement", key="home_hero"),
                    _c("List", [_c("Tile", label="Free delivery tonight")], title="Stay dry"),
                ),
            },
            {
                "key": "night",
                "name": "Night: dark theme",
                "audience": "night",
                "priority": 20,
                "design": _design(
                    DARK,
                    _c("Hero", title="Good evening", image="/static/demo/night.svg"),
                    _c("Placement", key="home_hero"),
                ),
            },
            {
                "key": "default",
                "name": "Default home",
                "design": _design(
                    LIGHT,
                    _c("Hero", title="Welcome back", image="/static/demo/day.svg"),
                    _c("Placement", key="home_hero"),
                    _c("Placement", key="offers"),
                    _c("Grid", [_c("Tile", label="Accounts"), _c("Tile", label="Shop")], columns=2),
                ),
                "translations": {
                    "fr": _design(
                        LIGHT,
                        _c("Hero", title="Bon retour parmi nous", image="/static/demo/day.jpg"),
                        _c("Placement", key="home_hero"),
                        _c("Placement", key="offers"),
                        _c(
                            "Grid",
                            [_c("Tile", label="Comptes"), _c("Tile", label="Boutique")],
                            columns=2,
                        ),
                    ),
                },
            },
        ],
    },
]


def _say(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def _segments(site: Site) -> dict[str, Segment]:
    rows = {s.key: s for s in Segment.objects.filter(site=site)}
    found = {}
    for audience, keys in AUDIENCES.items():
        for key in keys:
            if key in rows:
                found[audience] = rows[key]
                break
    return found


# Image paths of earlier demo data, which shipped no files: a re-run points them at the
# images in static/demo/ (and the changed slots are published again below).
RENAMED_IMAGES = {
    "/static/demo/spring.png": "/static/demo/spring.svg",
    "/static/demo/upgrade.png": "/static/demo/upgrade.svg",
    "/static/demo/day.jpg": "/static/demo/day.svg",
    "/static/demo/rain.jpg": "/static/demo/rain.svg",
    "/static/demo/night.jpg": "/static/demo/night.svg",
}


def _renamed(text: str) -> str:
    for old, new in RENAMED_IMAGES.items():
        text = text.replace(old, new)
    return text


def _fix_image_paths(slot: Any) -> None:
    for variant in slot.variants.all():
        if isinstance(slot, Placement):
            body = _renamed(variant.body)
            if body != variant.body:
                content_variant_update(variant=variant, data={"body": body})
        else:
            design = json.loads(_renamed(json.dumps(variant.design)))
            if design != variant.design:
                screen_variant_update(variant=variant, data={"design": design})


def _translations(slot: Any, spec: dict) -> dict[str, dict[str, Any]]:
    field = "body" if isinstance(slot, Placement) else "design"
    return {language: {field: value} for language, value in spec.get("translations", {}).items()}


def _ensure_variants(
    slot: Any, specs: list[dict], segments: dict[str, Segment], stdout: Any
) -> None:
    _fix_image_paths(slot)
    existing = {v.key: v for v in slot.variants.prefetch_related("translations")}
    for spec in specs:
        variant = existing.get(spec["key"])
        if variant is not None:
            if spec.get("translations") and not variant.translations.all():
                variant_translations_set(variant=variant, translations=_translations(slot, spec))
            continue
        audience = spec.get("audience")
        segment = segments.get(audience) if audience else None
        if audience and segment is None:
            _say(
                stdout, f"  content: skipped {slot.key}/{spec['key']}: no segment for '{audience}'"
            )
            continue
        fields = {
            "key": spec["key"],
            "name": spec["name"],
            "segment": segment,
            "priority": spec.get("priority", 100),
        }
        fields["translations"] = _translations(slot, spec)
        if isinstance(slot, Placement):
            content_variant_create(placement=slot, body=spec["body"], **fields)
        else:
            screen_variant_create(screen=slot, design=spec["design"], **fields)


def _ensure_languages(site: Site) -> None:
    """The demo site publishes French and Spanish besides its default language."""
    wanted = [tag for tag in DEMO_LANGUAGES if tag not in site.all_languages]
    if wanted:
        site.languages = [*(site.languages or []), *wanted]
        site.full_clean()
        site.save(update_fields=["languages"])


def seed(site: Site, *, stdout: Any = None) -> None:
    with transaction.atomic():
        DesignSchema.objects.get_or_create(site=site, defaults={"schema": default_design_schema()})
        _ensure_languages(site)
        segments = _segments(site)
        slots: list[Any] = []
        for spec in PLACEMENTS:
            placement = Placement.objects.filter(site=site, key=spec["key"]).first()
            if placement is None:
                placement = placement_create(
                    site=site,
                    key=spec["key"],
                    name=spec["name"],
                    kind=spec["kind"],
                    description=spec["description"],
                    json_schema=spec.get("json_schema"),
                )
            _ensure_variants(placement, spec["variants"], segments, stdout)
            slots.append(placement)
        for spec in SCREENS:
            screen = Screen.objects.filter(site=site, key=spec["key"]).first()
            if screen is None:
                screen = screen_create(
                    site=site, key=spec["key"], name=spec["name"], description=spec["description"]
                )
            _ensure_variants(screen, spec["variants"], segments, stdout)
            slots.append(screen)
        published = 0
        for slot in slots:
            if slot_has_unpublished_changes(slot=slot):
                slot_publish(slot=slot, note="Demo data")
                published += 1
    _say(stdout, f"  content: {len(slots)} placements and screens ({published} published now)")
