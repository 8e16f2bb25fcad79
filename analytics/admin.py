"""Metrics in the admin, and the "Reports" entry that opens the analytics dashboard."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

from analytics.models import Metric, Report
from tenancy.admin_scoping import ScopedModelAdmin
from tenancy.roles import Perm
from tenancy.selectors import user_has_any_site_role


@admin.register(Metric)
class MetricAdmin(ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_EXPERIMENTS
    list_display = ("name", "key", "kind", "event", "window_days", "cap", "site")
    list_filter = ("site", "kind")
    search_fields = ("key", "name", "event")
    fieldsets = (
        (None, {"fields": ("site", "key", "name", "description", "kind")}),
        (
            gettext_lazy("Conversion, count or sum"),
            {"fields": ("event", "where", "property", "window_days", "cap", "cap_value")},
        ),
        (gettext_lazy("Ratio"), {"fields": ("numerator", "denominator")}),
    )

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name in ("numerator", "denominator"):
            kwargs["queryset"] = self.get_queryset(request).exclude(kind="ratio")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The app list's "Analytics > Reports" opens the dashboard."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or user_has_any_site_role(request.user)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        return HttpResponseRedirect(reverse("analytics:dashboard"))
