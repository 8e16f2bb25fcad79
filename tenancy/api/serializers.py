from django.contrib.auth import get_user_model
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
from tenancy.roles import Role


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
        ]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The key itself. Shown only in this response."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class SiteRoleSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all()
    )
    role = serializers.ChoiceField(choices=[r.value for r in Role])

    class Meta:
        model = SiteRole
        fields = ["id", "site", "user", "role", "granted_at"]
        read_only_fields = ["granted_at"]
