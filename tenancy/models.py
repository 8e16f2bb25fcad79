import re
import secrets
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.roles import ROLE_LABELS, SITE_PERMISSIONS, Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)r is not a known IANA time zone.") % {"value": value})


def validate_origins(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise ValidationError(_("Allowed origins must be a list of strings."))
    check = URLValidator(schemes=["http", "https"])
    for origin in value:
        check(origin)
        rest = origin.partition("://")[2]
        if "/" in rest or origin.endswith("/"):
            raise ValidationError(
                _("%(origin)r must be an origin (scheme://host[:port]), not a URL.")
                % {"origin": origin}
            )


def identity_secret_generate() -> str:
    return secrets.token_hex(32)


# RFC 5646 "langtag" (well-formed BCP 47; grandfathered irregular tags are not accepted).
LANGUAGE_TAG_MAX_LENGTH = 35
_LANGUAGE_TAG = re.compile(
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})"  # language (with extlangs)
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"  # variants
    r"(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*"  # extensions
    r"(?:-x(?:-[a-z0-9]{1,8})+)?",  # private use
    re.IGNORECASE,
)


def language_tag_canonical(value: object) -> str | None:
    """`value` in BCP 47's conventional case (`fr-CA`, `zh-Hant-TW`), or None when it is not a
    well-formed tag. Tags compare case-insensitively; this is how they are stored."""
    if not isinstance(value, str) or len(value) > LANGUAGE_TAG_MAX_LENGTH:
        return None
    value = value.strip().replace("_", "-")
    if not value.isascii() or not _LANGUAGE_TAG.fullmatch(value):
        return None
    subtags = value.lower().split("-")
    out = [subtags[0]]
    for subtag in subtags[1:]:
        if len(out[-1]) == 1:  # after a singleton (extension, private use) all stays lower
            out += subtags[len(out) :]
            break
        if len(subtag) == 4 and subtag.isalpha():
            subtag = subtag.title()  # script
        elif len(subtag) == 2 and subtag.isalpha():
            subtag = subtag.upper()  # region
        out.append(subtag)
    return "-".join(out)


def validate_language_tag(value: object) -> None:
    if language_tag_canonical(value) is None:
        raise ValidationError(
            _("%(value)r is not a BCP 47 language tag (e.g. en, fr-CA, zh-Hant).")
            % {"value": value}
        )


def validate_languages(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError(_('Languages must be a list of BCP 47 tags, e.g. ["fr", "de"].'))
    for tag in value:
        validate_language_tag(tag)
    lowered = [str(tag).lower() for tag in value]
    if len(set(lowered)) != len(lowered):
        raise ValidationError(_("Each language may be listed once."))


def site_languages_normalized(default: str, languages: object) -> tuple[str, object]:
    """The default language and the other languages in BCP 47's conventional case, the default
    dropped from the others (it is the base content, never a translation). Invalid tags are
    left as they are for the validators to report."""
    default = language_tag_canonical(default) or default
    if not isinstance(languages, list):
        return default, languages
    tags = [language_tag_canonical(tag) or tag for tag in languages]
    return default, [t for t in tags if str(t).lower() != str(default).lower()]


class Site(models.Model):
    """A tenant. Every other object belongs to exactly one site."""

    name = models.CharField(max_length=200, verbose_name=_("name"))
    slug = models.SlugField(max_length=64, unique=True, verbose_name=_("slug"))
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], verbose_name=_("time zone")
    )
    default_language = models.CharField(
        max_length=LANGUAGE_TAG_MAX_LENGTH,
        default="en",
        validators=[validate_language_tag],
        help_text=_("BCP 47 tag (en, fr-CA) of the variants' base content."),
        verbose_name=_("default language"),
    )
    languages = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_languages],
        help_text=_(
            'Other languages the site publishes translations in, e.g. ["fr", "es"]. '
            "Empty: translations in any language, none reported missing."
        ),
        verbose_name=_("languages"),
    )
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_origins],
        help_text=_(
            'Browser origins allowed to call the delivery API, e.g. ["https://www.example.com"].'
        ),
        verbose_name=_("allowed origins"),
    )
    # Signs visitors' user ids (user_hash = HMAC-SHA256(secret, user_id)): kept as is because
    # the server must recompute the HMAC; shown only to site admins (tenancy.identity).
    identity_secret = models.CharField(
        max_length=64, default=identity_secret_generate, editable=False
    )
    require_identity_verification = models.BooleanField(
        default=True,
        help_text=_(
            "A public (delivery) key's user_id loads a stored profile only with a valid "
            "user_hash. Turn off only if every user id is unguessable and secret."
        ),
        verbose_name=_("require identity verification"),
    )
    retention_days = models.PositiveIntegerField(
        default=395,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Events and visitor data older than this many days are purged daily."),
        verbose_name=_("retention days"),
    )
    # Bumped by every publish; delivery workers rebuild their snapshot when it changes.
    config_version = models.PositiveBigIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        default_permissions = ("add", "change", "delete", "view")
        permissions = [(codename.value, label) for codename, label in SITE_PERMISSIONS]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        saved = getattr(self, "_saved_default_language", None)
        super().save(*args, **kwargs)
        self._saved_default_language = self.default_language
        if saved is not None and saved != self.default_language:
            # Decide labels base content with the default language: delivery must reload.
            from tenancy.services import site_config_bump

            self.config_version = site_config_bump(site_id=self.pk)

    def clean(self) -> None:
        self.default_language, self.languages = site_languages_normalized(
            self.default_language, self.languages
        )

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> "Site":
        site = super().from_db(db, field_names, values)
        site._saved_default_language = site.__dict__.get("default_language")
        return site

    @property
    def all_languages(self) -> list[str]:
        """The default language, then the other languages the site publishes."""
        return [self.default_language, *(self.languages or [])]


class SiteScopedModel(models.Model):
    """Base for everything that belongs to a site."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


def object_site_id(obj: models.Model) -> int:
    """The id of the site an object belongs to (a Site's own id for a Site)."""
    return obj.pk if isinstance(obj, Site) else obj.site_id


class ApiKeyKind(models.TextChoices):
    DELIVERY = "delivery", _("Public delivery key (browsers and apps)")
    SERVER = "server", _("Secret server key (server-to-server writes)")


KEY_PREFIXES = {ApiKeyKind.DELIVERY: "pk", ApiKeyKind.SERVER: "sk"}


class ApiKey(models.Model):
    """An API key. Only its SHA-256 digest is stored; the key itself is shown once."""

    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("site")
    )
    kind = models.CharField(max_length=16, choices=ApiKeyKind.choices, verbose_name=_("kind"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    prefix = models.CharField(
        max_length=16,
        editable=False,
        help_text=_("First characters, to tell keys apart."),
        verbose_name=_("prefix"),
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("revoked at")
    )
    # Set by a rotation: the key keeps working until then (its successor already works).
    expires_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("expires at")
    )
    rotated_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
        related_name="+",
        verbose_name=_("rotated to"),
    )
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last used at")
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    @staticmethod
    def generate(kind: str) -> str:
        return f"{KEY_PREFIXES[ApiKeyKind(kind)]}_{secrets.token_urlsafe(32)}"


class SiteRole(models.Model):
    """A role granted to a user on a site. Services mirror it into guardian permissions."""

    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="roles", verbose_name=_("site")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="site_roles",
        verbose_name=_("user"),
    )
    role = models.CharField(
        max_length=16, choices=[(r.value, ROLE_LABELS[r]) for r in Role], verbose_name=_("role")
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("granted by"),
    )
    granted_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("granted at")
    )

    class Meta:
        ordering = ["site", "user", "role"]
        verbose_name = _("site role")
        verbose_name_plural = _("site roles")
        constraints = [
            models.UniqueConstraint(fields=["site", "user", "role"], name="unique_site_user_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} on {self.site}"


class SchedulerHeartbeat(models.Model):
    """When a periodic-task scheduler last ran its tasks (one row per scheduler, e.g. the
    embedded one of `make run`), so the admin can tell whether scheduled work happens.
    Global, not site-scoped: one scheduler serves every site."""

    name = models.CharField(max_length=50, unique=True, verbose_name=_("name"))
    last_run_at = models.DateTimeField(verbose_name=_("last run at"))
    last_runs = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Task name → ISO time of its last run."),
        verbose_name=_("last runs"),
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("scheduler heartbeat")
        verbose_name_plural = _("scheduler heartbeats")

    def __str__(self) -> str:
        return f"{self.name} scheduler, last ran {self.last_run_at:%Y-%m-%d %H:%M:%S} UTC"
