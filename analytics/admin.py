"""Metrics in the admin, and the "Reports" entry that opens the analytics dashboard."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

from analytics.models import Metric, PredictiveModel, Report
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


class PredictiveModelForm(forms.ModelForm):
    class Meta:
        model = PredictiveModel
        fields = (
            "site",
            "name",
            "label",
            "goal_metric",
            "goal_event",
            "churn",
            "horizon_days",
            "enabled",
        )

    def clean_enabled(self) -> bool:
        enabled = self.cleaned_data.get("enabled", False)
        if enabled and (self.instance.pk is None or not self.instance.versions.exists()):
            raise forms.ValidationError(
                gettext_lazy("Train the model at least once before enabling it.")
            )
        return enabled


@admin.register(PredictiveModel)
class PredictiveModelAdmin(ScopedModelAdmin):
    """Predictive models: each version's held-out AUC beside the baseline's, and a
    calibration chart, to judge a model before enabling it (docs/predictive.md)."""

    form = PredictiveModelForm
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_EXPERIMENTS
    change_form_template = "admin/analytics/predictivemodel/change_form.html"
    list_display = ("name", "goal", "horizon_days", "enabled", "status", "auc", "site")
    list_filter = ("site", "enabled", "status")
    search_fields = ("name", "label", "goal_event")
    readonly_fields = ("status", "status_detail", "scored_at", "scored_profiles")
    actions = ("train_now",)
    fieldsets = (
        (None, {"fields": ("site", "name", "label")}),
        (
            gettext_lazy("Goal"),
            {"fields": ("goal_metric", "goal_event", "churn", "horizon_days")},
        ),
        (
            gettext_lazy("State"),
            {"fields": ("enabled", "status", "status_detail", "scored_at", "scored_profiles")},
        ),
    )

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("goal_metric", "site")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "goal_metric":
            kwargs["queryset"] = MetricAdmin(Metric, self.admin_site).get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("goal"))
    def goal(self, obj: PredictiveModel) -> str:
        from analytics.predictive.services import default_label

        return default_label(model=obj)

    @admin.display(description=gettext_lazy("held-out AUC (baseline)"))
    def auc(self, obj: PredictiveModel) -> str:
        from analytics.predictive.services import latest_version

        version = latest_version(model=obj)
        if version is None or version.auc is None:
            return "-"
        baseline = "-" if version.baseline_auc is None else f"{version.baseline_auc:.3f}"
        return f"{version.auc:.3f} ({baseline})"

    def save_model(self, request: HttpRequest, obj: PredictiveModel, form, change: bool) -> None:
        from analytics.predictive.services import (
            predictive_model_disable,
            predictive_model_enable,
        )
        from analytics.tasks import score_predictive_model

        wanted = obj.enabled
        before = change and PredictiveModel.objects.filter(pk=obj.pk, enabled=True).exists()
        obj.enabled = before  # the services below change it, with the field catalog
        super().save_model(request, obj, form, change)
        if wanted and not before:
            predictive_model_enable(model=obj)
            transaction.on_commit(lambda: score_predictive_model.delay(obj.pk))
        elif before and not wanted:
            predictive_model_disable(model=obj)

    def delete_model(self, request: HttpRequest, obj: PredictiveModel) -> None:
        from analytics.predictive.services import predictive_model_delete

        predictive_model_delete(model=obj)

    @admin.action(description=gettext_lazy("Train now"))
    def train_now(self, request: HttpRequest, queryset) -> None:
        from analytics.tasks import train_predictive_model

        allowed = [m for m in queryset if self.has_change_permission(request, m)]
        for model in allowed:
            train_predictive_model.delay(model.pk)
        self.message_user(
            request,
            gettext_lazy("Training started for %(n)d model(s).") % {"n": len(allowed)},
            messages.SUCCESS,
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ):
        from analytics.predictive.selectors import version_rows

        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            extra["predictive_versions"] = version_rows(model=obj)
        return super().change_view(request, object_id, form_url, extra)


# The "Segment suggestions" page registers its own admin (analytics/suggestions/admin.py).
import analytics.suggestions.admin  # noqa: E402, F401
