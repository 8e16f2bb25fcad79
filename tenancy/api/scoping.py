"""Site scoping for the management API: querysets, object permissions and the `site` field.

A view declares `read_perm` and `write_perm` (tenancy.roles.Perm). It lists only
objects of sites where the user holds `read_perm`, and changes only where it holds
`write_perm`. Objects of other sites are 404, never 403, so ids do not leak.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from tenancy.models import Site, object_site_id
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user, sites_for_user, user_has_site_perm


class SitePermission(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: object, obj: Model) -> bool:
        perm = view.read_perm if request.method in permissions.SAFE_METHODS else view.write_perm
        return user_has_site_perm(request.user, perm, object_site_id(obj))


class UserSitesField(serializers.PrimaryKeyRelatedField):
    """A `site` field that only accepts sites the requesting user may see."""

    def get_queryset(self) -> QuerySet[Site]:
        request = self.context.get("request")
        if request is None:
            return Site.objects.none()
        return sites_for_user(request.user, Perm.VIEW)


class SiteScopedViewSetMixin:
    read_perm: Perm = Perm.VIEW
    write_perm: Perm = Perm.MANAGE_SITE
    permission_classes = [SitePermission]
    site_lookup = "site_id__in"

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return queryset.filter(
            **{self.site_lookup: site_ids_for_user(self.request.user, self.read_perm)}
        )

    def check_site_write(self, site: Site | int) -> None:
        if not user_has_site_perm(self.request.user, self.write_perm, site):
            raise PermissionDenied("You may not change this site's data.")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self.check_site_write(serializer.validated_data["site"])
        super().perform_create(serializer)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        site = serializer.validated_data.get("site")
        if site is not None:
            self.check_site_write(site)
        super().perform_update(serializer)
