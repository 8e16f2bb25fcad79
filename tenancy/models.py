import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone

from tenancy.roles import ROLE_LABELS, SITE_PERMISSIONS, Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone.")


def validate_origins(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise ValidationError("Allowed origins must be a list of strings.")
    check = URLValidator(schemes=["http", "https"])
    for origin in value:
        check(origin)
        rest = origin.partition("://")[2]
        if "/" in rest or origin.endswith("/"):
            raise ValidationError(
                f"{origin!r} must be an origin (scheme://host[:port]), not a URL."
            )


def identity_secret_generate() -> str:
    return secrets.token_hex(32)


class Site(models.Model):
    """A tenant. Every other object belongs to exactly one site."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    default_language = models.CharField(max_length=16, default="en")
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_origins],
        help_text='Browser origins allowed to call the delivery API, e.g. ["https://www.example.com"].',
    )
    # Signs visitors' user ids (user_hash = HMAC-SHA256(secret, user_id)): kept as is because
    # the server must recompute the HMAC; shown only to site admins (tenancy.identity).
    identity_secret = models.CharField(
        max_length=64, default=identity_secret_generate, editable=False
    )
    require_identity_verification = models.BooleanField(
        default=True,
        help_text="A public (delivery) key's user_id loads a stored profile only with a valid "
        "user_hash. Turn off only if every user id is unguessable and secret.",
    )
    retention_days = models.PositiveIntegerField(
        default=395,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Events and visitor data older than this many days are purged daily.",
    )
    # Bumped by every publish; delivery workers rebuild their snapshot when it changes.
    config_version = models.PositiveBigIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        default_permissions = ("add", "change", "delete", "view")
        permissions = [(codename.value, label) for codename, label in SITE_PERMISSIONS]

    def __str__(self) -> str:
        return self.name


class SiteScopedModel(models.Model):
    """Base for everything that belongs to a site."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


def object_site_id(obj: models.Model) -> int:
    """The id of the site an object belongs to (a Site's own id for a Site)."""
    return obj.pk if isinstance(obj, Site) else obj.site_id


class ApiKeyKind(models.TextChoices):
    DELIVERY = "delivery", "Public delivery key (browsers and apps)"
    SERVER = "server", "Secret server key (server-to-server writes)"


KEY_PREFIXES = {ApiKeyKind.DELIVERY: "pk", ApiKeyKind.SERVER: "sk"}


class ApiKey(models.Model):
    """An API key. Only its SHA-256 digest is stored; the key itself is shown once."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=16, choices=ApiKeyKind.choices)
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=16, editable=False, help_text="First characters, to tell keys apart."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by a rotation: the key keeps working until then (its successor already works).
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, editable=False, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

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

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_roles"
    )
    role = models.CharField(max_length=16, choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["site", "user", "role"]
        constraints = [
            models.UniqueConstraint(fields=["site", "user", "role"], name="unique_site_user_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} on {self.site}"


class SchedulerHeartbeat(models.Model):
    """When a periodic-task scheduler last ran its tasks (one row per scheduler, e.g. the
    embedded one of `make run`), so the admin can tell whether scheduled work happens.
    Global, not site-scoped: one scheduler serves every site."""

    name = models.CharField(max_length=50, unique=True)
    last_run_at = models.DateTimeField()
    last_runs = models.JSONField(
        default=dict, blank=True, help_text="Task name → ISO time of its last run."
    )
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} scheduler, last ran {self.last_run_at:%Y-%m-%d %H:%M:%S} UTC"
