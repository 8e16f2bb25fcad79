"""Optimizations in the admin: setup with the eligible arms inline (checked like the API,
errors as form errors), the start / pause / resume / stop buttons, "Train now", and the
read-only history of model versions with the promotion gate's verdicts. Scoped like the
experiments admin: marketers and site admins edit (`manage_experiments`); every role of the
site reads. Registered from experiments/admin.py."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from analytics.models import Metric
from content.models import ContentVariant, Placement, Screen, ScreenVariant
from experiments.admin_optimization_report import report_link, report_urls
from experiments.forms_optimization import OptimizationArmFormSet, OptimizationForm
from experiments.models import (
    Optimization,
    OptimizationArm,
    OptimizationStatus,
    PolicyVersion,
)
from experiments.services.optimization import (
    LOCKED_WHEN_STARTED,
    optimization_delete,
    optimization_pause,
    optimization_resume,
    optimization_setup_saved,
    optimization_start,
    optimization_stop,
)
from experiments.services.optimization_validation import GOAL_KINDS
from tenancy.admin_scoping import ScopedModelAdmin, SiteScopedInlineMixin
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user, user_has_site_perm

WRITE = Perm.MANAGE_EXPERIMENTS
LIVE = (OptimizationStatus.RUNNING, OptimizationStatus.PAUSED)
REPORT_URL = "admin:experiments_optimization_report"

# Related objects offered in a form: only those of the sites the user may edit.
CHOICES: dict[str, tuple[type, str]] = {
    "placement": (Placement, "site_id__in"),
    "screen": (Screen, "site_id__in"),
    "goal": (Metric, "site_id__in"),
    "content_variant": (ContentVariant, "placement__site_id__in"),
    "design_variant": (ScreenVariant, "screen__site_id__in"),
}

LIFECYCLE = {
    "start": (optimization_start, "Started", (OptimizationStatus.DRAFT,)),
    "pause": (optimization_pause, "Paused", (OptimizationStatus.RUNNING,)),
    "resume": (optimization_resume, "Resumed", (OptimizationStatus.PAUSED,)),
    "stop": (optimization_stop, "Stopped", LIVE),
}


class OptimizationChoicesMixin:
    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in CHOICES:
            model, lookup = CHOICES[db_field.name]
            parent: Optimization | None = getattr(request, "_optimization_parent", None)
            site_ids = (
                [parent.site_id] if parent is not None else site_ids_for_user(request.user, WRITE)
            )
            queryset = model.objects.filter(**{lookup: site_ids})
            if db_field.name == "goal":
                queryset = queryset.filter(kind__in=GOAL_KINDS)
            # An existing optimization's arms: variants of its own slot only.
            if parent is not None and db_field.name == "content_variant":
                queryset = queryset.filter(placement_id=parent.placement_id)
            if parent is not None and db_field.name == "design_variant":
                queryset = queryset.filter(screen_id=parent.screen_id)
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OptimizationArmInline(OptimizationChoicesMixin, SiteScopedInlineMixin, admin.TabularInline):
    model = OptimizationArm
    formset = OptimizationArmFormSet
    read_perm = Perm.VIEW
    write_perm = WRITE
    site_lookup = "optimization__site_id__in"
    fields = ("key", "content_variant", "design_variant")
    verbose_name_plural = "eligible variants (at least two, of the optimized slot)"

    def get_extra(self, request: HttpRequest, obj: Optimization | None = None, **kwargs: Any):
        return 0 if obj is not None else 2

    def get_formset(self, request: HttpRequest, obj: Optimization | None = None, **kwargs: Any):
        request._optimization_parent = obj
        return super().get_formset(request, obj, **kwargs)

    def _started(self, obj: Optimization | None) -> bool:
        return obj is not None and obj.status != OptimizationStatus.DRAFT

    def get_readonly_fields(self, request: HttpRequest, obj: Optimization | None = None):
        return self.fields if self._started(obj) else ()

    def has_add_permission(self, request: HttpRequest, obj: Optimization | None = None) -> bool:
        return not self._started(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Optimization | None = None) -> bool:
        return not self._started(obj) and super().has_delete_permission(request, obj)


def _estimate(part: dict | None) -> str:
    if not part or part.get("value") is None:
        return "—"
    return f"{part['value']:.2%} ({part['ci_low']:.2%} to {part['ci_high']:.2%})"


class PolicyVersionInline(SiteScopedInlineMixin, admin.TabularInline):
    model = PolicyVersion
    read_perm = Perm.VIEW
    write_perm = WRITE
    site_lookup = "optimization__site_id__in"
    fields = (
        "number",
        "status",
        "trained_at",
        "window",
        "decisions",
        "held_out",
        "estimates",
        "verdict",
    )
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "model versions (every trained model, promoted or not)"

    @admin.display(description="training window")
    def window(self, obj: PolicyVersion) -> str:
        return f"{obj.window_start:%Y-%m-%d %H:%M} → {obj.window_end:%Y-%m-%d %H:%M}"

    @admin.display(description="held-out goal rate: candidate vs live (95 % interval)")
    def estimates(self, obj: PolicyVersion) -> str:
        q = obj.quality or {}
        live = q.get("live_version", 0)
        return f"{_estimate(q.get('candidate'))} vs v{live}: {_estimate(q.get('live'))}"

    @admin.display(description="verdict")
    def verdict(self, obj: PolicyVersion) -> str:
        q = obj.quality or {}
        reason = q.get("reason", "")
        head = "Promoted" if q.get("promote") else "Kept the live model"
        return f"{head}: {reason}" if reason else head

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OptimizationAdmin(OptimizationChoicesMixin, ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = WRITE
    form = OptimizationForm
    inlines = [OptimizationArmInline, PolicyVersionInline]
    change_form_template = "admin/experiments/optimization_setup/change_form.html"
    list_display = (
        "key",
        "name",
        "target",
        "goal",
        "status",
        "live",
        "decisions_logged",
        "last_trained_at",
        "report",
        "site",
    )
    list_filter = ("site", "status")
    search_fields = ("key", "name")
    list_select_related = ("placement", "screen", "goal", "live_version")
    actions = [
        "start_optimizations",
        "pause_optimizations",
        "resume_optimizations",
        "stop_optimizations",
    ]
    fieldsets = (
        (None, {"fields": ("site", "key", "name", "description", "lifecycle")}),
        ("Target and goal", {"fields": ("placement", "screen", "goal")}),
        # The picker's rows render above this (the change form template); the JSON stays.
        (
            "Advanced: edit as JSON",
            {"fields": ("features",), "classes": ("collapse", "pz-features-json")},
        ),
        ("Traffic", {"fields": ("holdout_share", "floor", "seed")}),
        (
            "Training and promotion",
            {
                "fields": (
                    "training_window_days",
                    "retrain_every",
                    "max_depth",
                    "min_leaf",
                    "promotion_rule",
                    "promotion_margin",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Optimization]:
        return super().get_queryset(request).annotate(logged=Count("decisions"))

    @admin.display(description="target")
    def target(self, obj: Optimization) -> str:
        return f"{obj.slot_kind} {obj.slot.key}" if obj.slot is not None else "—"

    @admin.display(description="live model")
    def live(self, obj: Optimization) -> str:
        return f"v{obj.live_version.number}" if obj.live_version_id else "uniform (v0)"

    @admin.display(description="report")
    def report(self, obj: Optimization) -> str:
        return report_link(obj)

    @admin.display(description="decisions logged", ordering="logged")
    def decisions_logged(self, obj: Optimization) -> int:
        return getattr(obj, "logged", 0)

    @admin.display(description="status")
    def lifecycle(self, obj: Optimization | None) -> str:
        if obj is None or obj.pk is None:
            return "Draft (start it once saved)."
        text = obj.get_status_display()
        if obj.started_at:
            text += f", started {obj.started_at:%Y-%m-%d %H:%M}"
        if obj.stopped_at:
            text += f", stopped {obj.stopped_at:%Y-%m-%d %H:%M}"
        model = f"v{obj.live_version.number}" if obj.live_version_id else "the uniform policy (v0)"
        return format_html("{}; serving {}. {}", text, model, report_link(obj))

    def get_readonly_fields(self, request: HttpRequest, obj: Optimization | None = None):
        fields = ["lifecycle"]
        if obj is not None:
            fields.append("site")
            if obj.status != OptimizationStatus.DRAFT:
                fields += LOCKED_WHEN_STARTED
            if obj.status == OptimizationStatus.STOPPED:
                fields += [f for f in self.form.Meta.fields if f not in fields]
        return fields

    def get_form(self, request: HttpRequest, obj: Optimization | None = None, **kwargs: Any):
        request._optimization_parent = obj
        form = super().get_form(request, obj, **kwargs)
        # The feature picker offers the fields and segments of the sites the user may edit;
        # its rows are read-only where the JSON is (started, or a viewer).
        site_ids = (
            (obj.site_id,) if obj is not None else tuple(site_ids_for_user(request.user, WRITE))
        )
        editable = obj is None or (
            "features" not in self.get_readonly_fields(request, obj)
            and self.has_change_permission(request, obj)
        )
        attrs = {"picker_site_ids": site_ids, "picker_editable": editable}
        return type(form.__name__, (form,), attrs)

    def has_delete_permission(self, request: HttpRequest, obj: Optimization | None = None) -> bool:
        if obj is not None and obj.status == OptimizationStatus.RUNNING:
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        optimization_setup_saved(optimization=form.instance, created=not change, user=request.user)

    def delete_model(self, request: HttpRequest, obj: Optimization) -> None:
        optimization_delete(optimization=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Optimization]) -> None:
        for optimization in queryset:
            try:
                optimization_delete(optimization=optimization, user=request.user)
            except ValidationError as exc:
                messages.error(request, f"{optimization}: {' '.join(exc.messages)}")

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        obj = context.get("original")
        if obj is not None and obj.pk:
            can_write = user_has_site_perm(request.user, WRITE, obj.site_id)
            context["pz_lifecycle"] = [
                (verb, label)
                for verb, (_, label, statuses) in LIFECYCLE.items()
                if can_write and obj.status in statuses
            ]
            context["pz_can_train"] = can_write and obj.status in LIVE
            try:
                context["pz_report_url"] = reverse(REPORT_URL, args=[obj.pk])
            except NoReverseMatch:  # the report page is wired in separately
                context["pz_report_url"] = None
        return super().render_change_form(request, context, *args, **kwargs)

    # --- lifecycle ----------------------------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet, verb: str) -> None:
        service, done, _ = LIFECYCLE[verb]
        count = 0
        for optimization in queryset:
            if not self.has_change_permission(request, optimization):
                messages.error(request, f"{optimization}: you may not change it.")
                continue
            try:
                service(optimization=optimization, user=request.user)
            except ValidationError as exc:
                messages.error(request, f"{optimization}: {' '.join(exc.messages)}")
            else:
                count += 1
        if count:
            messages.success(request, f"{done} {count} optimization(s).")

    @admin.action(description="Start the selected optimizations")
    def start_optimizations(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "start")

    @admin.action(description="Pause the selected optimizations")
    def pause_optimizations(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "pause")

    @admin.action(description="Resume the selected optimizations")
    def resume_optimizations(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "resume")

    @admin.action(description="Stop the selected optimizations")
    def stop_optimizations(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "stop")

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/lifecycle/<str:verb>/",
                self.admin_site.admin_view(require_POST(self.lifecycle_view)),
                name="experiments_optimization_lifecycle",
            ),
            path(
                "<int:pk>/train/",
                self.admin_site.admin_view(require_POST(self.train_view)),
                name="experiments_optimization_train",
            ),
            *report_urls(self),
            *super().get_urls(),
        ]

    def _writable(self, request: HttpRequest, pk: int) -> Optimization:
        optimization = get_object_or_404(self.get_queryset(request), pk=pk)
        if not user_has_site_perm(request.user, WRITE, optimization.site_id):
            raise PermissionDenied
        return optimization

    def _back(self, optimization: Optimization) -> HttpResponse:
        return HttpResponseRedirect(
            reverse("admin:experiments_optimization_change", args=[optimization.pk])
        )

    def lifecycle_view(self, request: HttpRequest, pk: int, verb: str) -> HttpResponse:
        if verb not in LIFECYCLE:
            raise Http404("No such change.")
        optimization = self._writable(request, pk)
        self._each(request, Optimization.objects.filter(pk=optimization.pk), verb)
        return self._back(optimization)

    def train_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        from experiments.tasks import train_optimization

        optimization = self._writable(request, pk)
        if optimization.status not in LIVE:
            messages.error(request, "Only a running or paused optimization is trained.")
            return self._back(optimization)
        result = train_optimization.delay(optimization.pk, True)
        if not result.ready():
            messages.info(request, "Training queued: a worker trains it shortly.")
            return self._back(optimization)
        outcome = result.get()
        level = messages.success if outcome["status"] == "promoted" else messages.warning
        if outcome["status"] == "skipped":
            level(request, f"Not trained: {outcome['reason']}.")
        else:
            level(
                request,
                format_html(
                    "Version {} {}: {}",
                    outcome["version"],
                    "promoted" if outcome["status"] == "promoted" else "rejected by the gate",
                    outcome["reason"],
                ),
            )
        return self._back(optimization)


admin.site.register(Optimization, OptimizationAdmin)
