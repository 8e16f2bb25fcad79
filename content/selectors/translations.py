"""Which translations a slot's variants have and which are missing: per variant, each language
the site publishes besides its default (`Site.languages`). Reads the slot's `variants` and
their `translations` as loaded, so a prefetched queryset (the admin's changelist) costs no
query per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from content.models import ContentVariant, ScreenVariant
from content.models.slots import Slot


@dataclass(frozen=True)
class VariantTranslations:
    variant: ContentVariant | ScreenVariant
    present: dict[str, bool]  # each site language -> translated or not
    extra: list[str]  # translated into languages the site no longer lists

    @property
    def missing(self) -> list[str]:
        return [language for language, done in self.present.items() if not done]


def variant_translations_status(
    *, variant: ContentVariant | ScreenVariant, languages: list[str]
) -> VariantTranslations:
    have = {t.language.lower(): t.language for t in variant.translations.all()}
    wanted = {language.lower() for language in languages}
    return VariantTranslations(
        variant=variant,
        present={language: language.lower() in have for language in languages},
        extra=[tag for key, tag in have.items() if key not in wanted],
    )


def slot_translations_status(*, slot: Slot) -> list[VariantTranslations]:
    """One row per variant (by priority, key) against the site's translation languages."""
    languages = list(slot.site.languages or [])
    variants = sorted(slot.variants.all(), key=lambda v: (v.priority, v.key))
    return [variant_translations_status(variant=v, languages=languages) for v in variants]


def slot_missing_translations(*, slot: Slot) -> dict[str, int]:
    """Language -> how many of the slot's variants lack it (languages with none missing are
    left out), in the site's order."""
    counts = {language: 0 for language in slot.site.languages or []}
    for row in slot_translations_status(slot=slot):
        for language in row.missing:
            counts[language] += 1
    return {language: n for language, n in counts.items() if n}
