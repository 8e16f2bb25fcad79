"""Translations: per-language versions of a variant's content. A variant's own body (or design)
is in the site's default language; a `ContentVariantTranslation` holds its body in another
language, a `ScreenVariantTranslation` its design. They are part of the draft (published and
rolled back with their variant) and are checked exactly like the base: the same body and
design validation, errors at the same paths.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from content.models.slots import PlacementKind
from content.models.variants import ContentVariant, ScreenVariant, Variant
from content.sanitize import sanitize_html
from content.validation import body_errors, design_errors
from tenancy.models import LANGUAGE_TAG_MAX_LENGTH, language_tag_canonical, validate_language_tag


def language_problem(variant: Variant, language: str) -> str | None:
    """Why `language` (canonical) cannot be a translation of `variant`, or None."""
    parent = variant.parent
    site = parent.site if parent is not None and parent.site_id else None
    if site is None:
        return None
    if language.lower() == site.default_language.lower():
        if isinstance(variant, ContentVariant):
            text = _("%(language)s is the site's default language: it is the variant's own body.")
        else:
            text = _("%(language)s is the site's default language: it is the variant's own design.")
        return str(text) % {"language": language}
    declared = {tag.lower() for tag in site.languages or []}
    if declared and language.lower() not in declared:
        return _(
            "%(site)s publishes %(languages)s besides %(default)s; "
            "add %(language)s to the site's languages first."
        ) % {
            "site": site,
            "languages": ", ".join(site.languages),
            "default": site.default_language,
            "language": language,
        }
    return None


class VariantTranslation(models.Model):
    language = models.CharField(
        max_length=LANGUAGE_TAG_MAX_LENGTH,
        validators=[validate_language_tag],
        help_text=_("BCP 47 tag, e.g. fr or fr-CA."),
        verbose_name=_("language"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True
        ordering = ["language"]

    def __str__(self) -> str:
        return f"{self.variant} [{self.language}]"

    def clean_language(self) -> dict[str, list[str]]:
        """Canonicalise the tag (`FR-ca` → `fr-CA`) and check the site takes it."""
        canonical = language_tag_canonical(self.language)
        if canonical is None:
            return {}  # the field validator reports it
        self.language = canonical
        variant = getattr(self, "variant", None) if self.variant_id else None
        problem = language_problem(variant, canonical) if variant is not None else None
        return {"language": [problem]} if problem else {}


class ContentVariantTranslation(VariantTranslation):
    """A content variant's body in one more language."""

    variant = models.ForeignKey(
        ContentVariant,
        on_delete=models.CASCADE,
        related_name="translations",
        verbose_name=_("variant"),
    )
    body = models.TextField(
        blank=True,
        help_text=_("Like the variant's body (HTML, text or a JSON document)."),
        verbose_name=_("body"),
    )

    class Meta(VariantTranslation.Meta):
        verbose_name = _("content variant translation")
        verbose_name_plural = _("content variant translations")
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "language"], name="unique_content_variant_language"
            )
        ]

    def clean(self) -> None:
        errors = self.clean_language()
        placement = self.variant.placement if self.variant_id else None
        if placement is not None:
            errors.update(body_errors(placement, self.body))
            if not errors and placement.kind == PlacementKind.HTML:
                self.body = sanitize_html(self.body)
        if errors:
            raise ValidationError(errors)


class ScreenVariantTranslation(VariantTranslation):
    """A screen variant's design in one more language."""

    variant = models.ForeignKey(
        ScreenVariant,
        on_delete=models.CASCADE,
        related_name="translations",
        verbose_name=_("variant"),
    )
    design = models.JSONField(default=dict, verbose_name=_("design"))

    class Meta(VariantTranslation.Meta):
        verbose_name = _("screen variant translation")
        verbose_name_plural = _("screen variant translations")
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "language"], name="unique_screen_variant_language"
            )
        ]

    def clean(self) -> None:
        errors = self.clean_language()
        if self.variant_id:
            errors.update(design_errors(self.variant.screen.site_id, self.design))
        if errors:
            raise ValidationError(errors)
