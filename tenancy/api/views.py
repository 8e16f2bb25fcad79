from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tenancy.api.authentication import ApiKeyAuthentication, DeliveryKeyRequired
from tenancy.api.filtering import SiteScopedFilterSet
from tenancy.api.scoping import SiteScopedViewSetMixin
from tenancy.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyRotateSerializer,
    ApiKeySerializer,
    IdentitySecretSerializer,
    SiteRoleSerializer,
    SiteSerializer,
)
from tenancy.api.throttling import ApiKeyRateThrottle
from tenancy.models import ApiKey, ApiKeyKind, Site, SiteRole
from tenancy.roles import Perm
from tenancy.services import (
    KeyNotRotatable,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    role_grant,
    role_revoke,
    site_identity_secret_rotate,
    site_settings_changed,
)


class SiteViewSet(
    SiteScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Sites you hold a role on. Site admins may change settings; sites are created by operators."""

    queryset = Site.objects.all()
    serializer_class = SiteSerializer
    site_lookup = "pk__in"
    filterset_fields = ["slug"]

    def perform_update(self, serializer: SiteSerializer) -> None:
        super().perform_update(serializer)
        site_settings_changed(site=serializer.instance)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses=IdentitySecretSerializer,
        summary="The site's identity secret (site admins), to compute visitors' user_hash",
    )
    @extend_schema(
        methods=["POST"],
        request=None,
        responses=IdentitySecretSerializer,
        summary="Rotate the identity secret: hashes made with the old one stop verifying at once",
    )
    @action(detail=True, methods=["get", "post"], url_path="identity-secret")
    def identity_secret(self, request: Request, pk: str | None = None) -> Response:
        site = self.get_object()
        # Reading the secret is as sensitive as changing it: site admins only, both ways.
        self.check_site_write(site)
        secret = (
            site_identity_secret_rotate(site=site)
            if request.method == "POST"
            else site.identity_secret
        )
        return Response({"site": site.pk, "identity_secret": secret})


class ApiKeyFilter(SiteScopedFilterSet):
    active = filters.BooleanFilter(method="filter_active")

    class Meta:
        model = ApiKey
        fields = ["site", "kind", "active"]

    def filter_active(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        live = Q(revoked_at__isnull=True) & (
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )
        return queryset.filter(live if value else ~live)


class ApiKeyViewSet(
    SiteScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """API keys. The key itself appears only in the response that creates it."""

    queryset = ApiKey.objects.select_related("site")
    serializer_class = ApiKeySerializer
    read_perm = Perm.MANAGE_SITE
    filterset_class = ApiKeyFilter

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self.check_site_write(data["site"])
        key, raw = api_key_create(
            site=data["site"], kind=data["kind"], name=data["name"], created_by=request.user
        )
        key.key = raw
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ApiKeyRotateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        summary="Rotate a key: a successor now, the old key retired at the end of the window",
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        key = self.get_object()  # checks object permissions (write_perm for POST)
        params = ApiKeyRotateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        hours = params.validated_data.get("window_hours")
        try:
            successor, raw = api_key_rotate(
                key=key,
                window=None if hours is None else timedelta(hours=hours),
                created_by=request.user,
            )
        except KeyNotRotatable as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        successor.key = raw
        return Response(ApiKeyCreatedSerializer(successor).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        key = self.get_object()  # checks object permissions (write_perm for POST)
        return Response(ApiKeySerializer(api_key_revoke(key=key)).data)


class SiteRoleViewSet(
    SiteScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Roles on your sites. Site admins grant and revoke them."""

    queryset = SiteRole.objects.select_related("site", "user")
    serializer_class = SiteRoleSerializer
    filterset_fields = ["site", "role"]

    def perform_create(self, serializer: SiteRoleSerializer) -> None:
        data = serializer.validated_data
        self.check_site_write(data["site"])
        serializer.instance = role_grant(
            site=data["site"], user=data["user"], role=data["role"], granted_by=self.request.user
        )

    def perform_destroy(self, instance: SiteRole) -> None:
        role_revoke(site_role=instance)


class WhoAmISerializer(serializers.Serializer):
    site = serializers.CharField(help_text="The slug of the key's site.")
    kind = serializers.ChoiceField(choices=ApiKeyKind.choices)


@extend_schema(
    tags=["keys"],
    auth=[{"ApiKeyAuth": []}],
    responses={200: WhoAmISerializer},
    summary="Check an API key: which site and kind it is.",
)
@api_view(["GET"])
@authentication_classes([ApiKeyAuthentication])
@permission_classes([DeliveryKeyRequired])
@throttle_classes([ApiKeyRateThrottle])
def whoami(request: Request) -> Response:
    return Response({"site": request.auth.site_slug, "kind": request.auth.kind})
