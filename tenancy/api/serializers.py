from django.contrib.auth import get_user_model
from rest_framework import serializers

from tenancy.api.scoping import UserSitesField
from tenancy.models import ApiKey, Site, SiteRole, validate_origins
from tenancy.roles import Role


class SiteSerializer(serializers.ModelSerializer):
    # Checked as a whole list by validate_origins; `timezone` runs the model's validator.
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300), max_length=100, validators=[validate_origins]
    )

    class Meta:
        model = Site
        fields = [
            "id",
            "name",
            "slug",
            "timezone",
            "default_language",
            "allowed_origins",
            "require_identity_verification",
            "config_version",
            "created_at",
        ]
        read_only_fields = ["slug", "config_version", "created_at"]


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
