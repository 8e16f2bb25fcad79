from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.admin_scoping import ScopedModelAdmin
from tenancy.models import ApiKey, Site, SiteRole
from tenancy.roles import Perm
from tenancy.selectors import user_has_site_perm
from tenancy.services import (
    KeyNotRotatable,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    role_grant,
    role_revoke,
    role_sync,
    site_create,
    site_identity_secret_rotate,
    site_settings_changed,
)

admin.site.site_header = "Personalize"
admin.site.site_title = "Personalize"
admin.site.index_title = gettext_lazy("Segments and content")


class OriginListField(forms.CharField):
    """A list of origins edited one per line (stored as a JSON list)."""

    widget = forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class SiteAdminForm(forms.ModelForm):
    allowed_origins = OriginListField(
        required=False,
        label=gettext_lazy("allowed origins"),
        help_text=gettext_lazy(
            "Browser origins allowed to call the delivery API, one per line, "
            "e.g. https://www.example.com."
        ),
    )

    class Meta:
        model = Site
        fields = ["name", "slug", "timezone", "default_language", "allowed_origins"]


def _copy_saved(saved: Any, obj: Any) -> None:
    obj.__dict__.update({f.attname: getattr(saved, f.attname) for f in saved._meta.concrete_fields})


@admin.register(Site)
class SiteAdmin(ScopedModelAdmin):
    form = SiteAdminForm
    site_lookup = "pk__in"
    list_display = ["name", "slug", "timezone", "default_language", "config_version"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["config_version", "created_at"]
    actions = ["rotate_identity_secrets"]

    def get_readonly_fields(self, request: HttpRequest, obj: Site | None = None) -> list[str]:
        # The identity secret signs visitors' user ids: only the site's admins see it.
        if obj is not None and user_has_site_perm(request.user, Perm.MANAGE_SITE, obj):
            return [*self.readonly_fields, "identity_secret"]
        return self.readonly_fields

    @admin.action(description=gettext_lazy("Rotate the identity secret of selected sites"))
    def rotate_identity_secrets(self, request: HttpRequest, queryset: QuerySet[Site]) -> None:
        for site in queryset:
            if user_has_site_perm(request.user, Perm.MANAGE_SITE, site):
                site_identity_secret_rotate(site=site)
                messages.warning(
                    request,
                    _(
                        "%(site)s: new identity secret; user hashes made with the old one no "
                        "longer verify. It is shown on the site's page."
                    )
                    % {"site": site},
                )

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Site | None = None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: Site, form: Any, change: bool) -> None:
        if change:
            obj.save()
            site_settings_changed(site=obj)
            return
        # The service seeds the new site's field catalog and design schema (site_created).
        saved = site_create(
            name=obj.name,
            slug=obj.slug,
            timezone_name=obj.timezone,
            default_language=obj.default_language,
            allowed_origins=obj.allowed_origins,
        )
        if saved.require_identity_verification != obj.require_identity_verification:
            saved.require_identity_verification = obj.require_identity_verification
            saved.save(update_fields=["require_identity_verification"])
        _copy_saved(saved, obj)


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedModelAdmin):
    list_display = [
        "name",
        "site",
        "kind",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["kind", "site"]
    fields = [
        "site",
        "kind",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "rotated_to",
        "revoked_at",
    ]
    readonly_fields = fields[3:]  # all but site, kind and name
    actions = ["rotate_keys", "revoke_keys"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is not None:
            return [*self.readonly_fields, "site", "kind"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form: object, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        key, raw = api_key_create(
            site=obj.site, kind=obj.kind, name=obj.name, created_by=request.user
        )
        _copy_saved(key, obj)
        messages.warning(
            request, _("Copy this key now; it will not be shown again: %(key)s") % {"key": raw}
        )

    def delete_model(self, request: HttpRequest, obj: ApiKey) -> None:
        api_key_revoke(key=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            api_key_revoke(key=key)
        super().delete_queryset(request, queryset)

    @admin.action(
        description=gettext_lazy("Rotate selected keys (old ones keep working for the window)")
    )
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            if not self.has_change_permission(request, key):
                continue
            try:
                raw = api_key_rotate(key=key, created_by=request.user)[1]
            except KeyNotRotatable as exc:
                messages.error(request, f"{key}: {exc}")
                continue
            key.refresh_from_db()
            messages.warning(
                request,
                _(
                    "%(key)s works until %(when)s UTC. Its successor (copy it now; it will not "
                    "be shown again): %(raw)s"
                )
                % {"key": key, "when": f"{key.expires_at:%Y-%m-%d %H:%M}", "raw": raw},
            )

    @admin.action(description=gettext_lazy("Revoke selected keys"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            if self.has_change_permission(request, key):
                api_key_revoke(key=key)
        messages.success(request, _("Revoked."))


@admin.register(SiteRole)
class SiteRoleAdmin(ScopedModelAdmin):
    write_perm = Perm.MANAGE_SITE
    list_display = ["user", "site", "role", "granted_by", "granted_at"]
    list_filter = ["role", "site"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
    fields = ["site", "user", "role"]

    def save_model(self, request: HttpRequest, obj: SiteRole, form: object, change: bool) -> None:
        if change:
            previous = SiteRole.objects.get(pk=obj.pk)
            obj.save()
            role_sync(site_role=obj, previous=previous)
        else:
            saved = role_grant(site=obj.site, user=obj.user, role=obj.role, granted_by=request.user)
            obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: SiteRole) -> None:
        role_revoke(site_role=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SiteRole]) -> None:
        for site_role in queryset:
            role_revoke(site_role=site_role)
