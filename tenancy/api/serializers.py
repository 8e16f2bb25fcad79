from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from rest_framework import serializers

from tenancy.api.scoping import UserSitesField
from tenancy.models import (
    ApiKey,
    Site,
    SiteRole,
    site_languages_normalized,
    validate_languages,
    validate_origins,
)
from tenancy.roles import Perm, Role
from tenancy.selectors import sites_for_user


class SiteSerializer(serializers.ModelSerializer):
    # Checked as a whole list by validate_origins; `timezone` runs the model's validator.
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300), max_length=100, validators=[validate_origins]
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=35),
        max_length=100,
        required=False,
        validators=[validate_languages],
        help_text="Other BCP 47 languages the site publishes translations in.",
    )

    class Meta:
        model = Site
        fields = [
            "id",
            "name",
            "slug",
            "timezone",
            "default_language",
            "languages",
            "allowed_origins",
            "require_identity_verification",
            "config_version",
            "created_at",
        ]
        read_only_fields = ["slug", "config_version", "created_at"]

    def validate(self, attrs: dict) -> dict:
        # Stored in BCP 47's conventional case, the default never among the translations.
        default = attrs.get("default_language") or getattr(self.instance, "default_language", "en")
        languages = attrs.get("languages", getattr(self.instance, "languages", []))
        attrs["default_language"], attrs["languages"] = site_languages_normalized(
            default, languages
        )
        return attrs


class IdentitySecretSerializer(serializers.Serializer):
    site = serializers.IntegerField()
    identity_secret = serializers.CharField(
        help_text="user_hash = hex HMAC-SHA256 of the user id with this secret. Keep it on "
        "your server."
    )


class ApiKeySerializer(serializers.ModelSerializer):
    site = UserSitesField()
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "site",
            "kind",
            "name",
            "prefix",
            "is_active",
            "created_at",
            "last_used_at",
            "revoked_at",
            "expires_at",
            "rotated_to",
        ]
        read_only_fields = [
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
            "expires_at",
            "rotated_to",
        ]


class ApiKeyRotateSerializer(serializers.Serializer):
    window_hours = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=24 * 90,
        help_text="How long the old key keeps working (default API_KEY_ROTATION_WINDOW_HOURS, "
        "24). 0 retires it at once.",
    )


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The key itself. Shown only in this response."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class GrantableUserField(serializers.SlugRelatedField):
    """A username among the people the requester may grant roles to: anyone for superusers;
    else accounts with no role yet (created by an operator to be assigned) and people who
    already hold a role on a site the requester manages. Another tenant's people, and names
    that do not exist, get the same error: the field is no oracle of usernames."""

    default_error_messages = {
        "does_not_exist": "No user {slug_name}={value} that you may grant a role to.",
        "invalid": "Invalid value.",
    }

    def __init__(self, **kwargs: object) -> None:
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self) -> QuerySet:
        users = get_user_model().objects.all()
        request = self.context.get("request")
        requester = getattr(request, "user", None)
        if requester is None or not requester.is_authenticated:
            return users.none()
        if requester.is_superuser:
            return users
        managed = sites_for_user(requester, Perm.MANAGE_SITE)
        return users.filter(
            Q(site_roles__site__in=managed) | Q(site_roles__isnull=True), is_active=True
        ).distinct()


class SiteRoleSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    user = GrantableUserField()
    role = serializers.ChoiceField(choices=[r.value for r in Role])

    class Meta:
        model = SiteRole
        fields = ["id", "site", "user", "role", "granted_at"]
        read_only_fields = ["granted_at"]
