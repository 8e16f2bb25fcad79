"""Site scoping for the Django admin: staff see and change only their sites' objects."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from tenancy.models import object_site_id
from tenancy.roles import Perm
from tenancy.selectors import (
    site_ids_for_user,
    sites_for_user,
    user_has_any_site_role,
    user_has_site_perm,
)


class SiteListFilter(admin.SimpleListFilter):
    """ "By site", offering only the sites the user may read in this admin: never another
    tenant's name. ScopedModelAdmin puts it wherever a list_filter names "site"."""

    title = "site"
    parameter_name = "site"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        perm = getattr(model_admin, "read_perm", Perm.VIEW)
        return [(str(site.pk), site.name) for site in sites_for_user(request.user, perm)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(site_id=int(value))
        return queryset


class SiteScopedAdminMixin:
    """For ModelAdmins of site-owned models (or of Site itself, with site_lookup="pk__in")."""

    read_perm: Perm = Perm.VIEW
    write_perm: Perm = Perm.MANAGE_SITE
    site_lookup = "site_id__in"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{self.site_lookup: site_ids_for_user(request.user, self.read_perm)}
        )

    def get_list_filter(self, request: HttpRequest) -> list:
        return [
            SiteListFilter if f == "site" else f
            for f in super().get_list_filter(request)  # type: ignore[misc]
        ]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_has_any_site_role(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is None:
            return user_has_any_site_role(request.user)
        return user_has_site_perm(request.user, self.read_perm, object_site_id(obj))

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return sites_for_user(request.user, self.write_perm).exists()

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is None:
            return sites_for_user(request.user, self.write_perm).exists()
        return user_has_site_perm(request.user, self.write_perm, object_site_id(obj))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_change_permission(request, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        if "site" not in initial and any(f.name == "site" for f in self.model._meta.fields):
            site_ids = site_ids_for_user(request.user, self.write_perm)
            if len(site_ids) == 1:  # most editors work on one site: choose it for them
                initial["site"] = site_ids[0]
        return initial

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "site":
            kwargs["queryset"] = sites_for_user(request.user, self.write_perm)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SiteScopedInlineMixin(SiteScopedAdminMixin):
    """Inlines inherit their parent's object; permission follows the parent's site."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is None:
            return sites_for_user(request.user, self.write_perm).exists()
        return user_has_site_perm(request.user, self.write_perm, object_site_id(obj))


class ScopedModelAdmin(SiteScopedAdminMixin, admin.ModelAdmin):
    pass
