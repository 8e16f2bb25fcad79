"""Experiments in the admin: setup with arms and metrics inline (checked like the API, errors
as form errors), warnings, the start / pause / resume / stop actions and a stop page that can
publish the winner; layers; the global holdout of each site. Marketers and site admins edit
(the `manage_experiments` permission); every role of the site may read."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from analytics.models import Metric
from content.models import ContentVariant, Placement, Screen, ScreenVariant
from experiments import admin_optimization, admin_results  # noqa: F401 - registers Optimization
from experiments.forms import ArmFormSet, ExperimentForm, ExperimentMetricFormSet, StopForm
from experiments.models import (
    Arm,
    Assignment,
    Experiment,
    ExperimentMetric,
    ExperimentPhase,
    ExperimentStatus,
    GlobalHoldout,
    Layer,
)
from experiments.planning_display import render_plan
from experiments.selectors.experiments import LIVE_STATUSES, experiment_warnings
from experiments.selectors.planning import experiment_plan
from experiments.services.experiments import (
    LOCKED_WHEN_STARTED,
    experiment_delete,
    experiment_pause,
    experiment_resume,
    experiment_setup_saved,
    experiment_setup_state,
    experiment_start,
    experiment_stop,
)
from segments.models import Segment
from tenancy.admin_scoping import ScopedModelAdmin, SiteScopedInlineMixin
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user, user_has_site_perm
from tenancy.services import site_config_bump

WRITE = Perm.MANAGE_EXPERIMENTS

# Related objects offered in a form: only those of the sites the user may edit.
SITE_SCOPED_CHOICES: dict[str, tuple[type, str]] = {
    "placement": (Placement, "site_id__in"),
    "screen": (Screen, "site_id__in"),
    "audience": (Segment, "site_id__in"),
    "layer": (Layer, "site_id__in"),
    "metric": (Metric, "site_id__in"),
    "content_variant": (ContentVariant, "placement__site_id__in"),
    "design_variant": (ScreenVariant, "screen__site_id__in"),
}


class ScopedChoicesMixin:
    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in SITE_SCOPED_CHOICES:
            model, lookup = SITE_SCOPED_CHOICES[db_field.name]
            site_ids = site_ids_for_user(request.user, WRITE)
            parent = getattr(request, "_experiment_parent", None)
            if parent is not None:  # an existing experiment: its own site only
                site_ids = [parent.site_id]
            kwargs["queryset"] = model.objects.filter(**{lookup: site_ids})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ExperimentInline(ScopedChoicesMixin, SiteScopedInlineMixin, admin.TabularInline):
    read_perm = Perm.VIEW
    write_perm = WRITE
    site_lookup = "experiment__site_id__in"
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Experiment | None = None, **kwargs: Any):
        request._experiment_parent = obj
        return super().get_formset(request, obj, **kwargs)


class ArmInline(ExperimentInline):
    model = Arm
    formset = ArmFormSet
    fields = ("key", "name", "weight", "is_control", "content_variant", "design_variant")
    extra = 2

    def get_extra(self, request: HttpRequest, obj: Experiment | None = None, **kwargs: Any):
        return 0 if obj is not None else 2

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None):
        if obj is not None and obj.status != ExperimentStatus.DRAFT:
            return ("key", "is_control", "content_variant", "design_variant")
        return ()

    def has_add_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        if obj is not None and obj.status != ExperimentStatus.DRAFT:
            return False
        return super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        if obj is not None and obj.status != ExperimentStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)


class ExperimentMetricInline(ExperimentInline):
    model = ExperimentMetric
    formset = ExperimentMetricFormSet
    fields = ("metric", "role", "cuped_days")
    extra = 1


class ExperimentPhaseInline(ExperimentInline):
    model = ExperimentPhase
    fields = ("number", "started_at", "ended_at", "coverage", "weights", "note")
    readonly_fields = fields
    verbose_name_plural = "phases (results are computed per phase)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Experiment)
class ExperimentAdmin(ScopedChoicesMixin, ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = WRITE
    form = ExperimentForm
    inlines = [ArmInline, ExperimentMetricInline, ExperimentPhaseInline]
    list_display = (
        "name",
        "key",
        "target",
        "status",
        "phase",
        "mode",
        "running_days",
        "primary_metric",
        "guidance",
        "site",
    )
    list_filter = ("site", "status", "mode")
    search_fields = ("key", "name")
    actions = ["start_experiments", "pause_experiments", "resume_experiments", "stop_experiments"]
    fieldsets = (
        (None, {"fields": ("site", "key", "name", "hypothesis", "lifecycle")}),
        ("Target", {"fields": ("placement", "screen", "audience")}),
        ("Traffic", {"fields": ("coverage", "keep_phase", "layer", "layer_start", "layer_end")}),
        ("Method", {"fields": ("mode", "method", "tuning", "alpha", "bandit_floor", "seed")}),
    )

    @admin.display(description="target")
    def target(self, obj: Experiment) -> str:
        return f"{obj.slot_kind} {obj.slot.key}" if obj.slot is not None else "—"

    # Shown on the change page only: the plan reads the saved setup.
    planning_fieldset = (
        _("Planning"),
        {
            "fields": ("planning",),
            "description": _(
                "How small an effect this experiment can detect, and how long it needs."
            ),
        },
    )

    @admin.display(description=_("plan"))
    def planning(self, obj: Experiment | None) -> str:
        if obj is None or obj.pk is None:
            return "—"
        metric = admin_results.primary_metric(obj)
        return render_plan(
            experiment_plan(experiment=obj), metric_name=metric.name if metric else None
        )

    @admin.display(description=_("days running"))
    def running_days(self, obj: Experiment) -> int | str:
        days = admin_results.days_running(obj)
        return "—" if days is None else days

    @admin.display(description=_("primary metric"))
    def primary_metric(self, obj: Experiment) -> str:
        metric = admin_results.primary_metric(obj)
        return "—" if metric is None else metric.name

    @admin.display(description=_("results"))
    def guidance(self, obj: Experiment) -> str:
        badge = admin_results.guidance_badge(obj)
        if badge is None:
            return "—"
        return format_html(
            '<a class="pz-guidance pz-guidance-{}" href="{}">{}</a>',
            badge["guidance"],
            badge["url"],
            badge["label"],
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Experiment]:
        return super().get_queryset(request).prefetch_related("metrics__metric")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        return super().changelist_view(
            request, {**admin_results.lift_cards(request), **(extra_context or {})}
        )

    @admin.display(description="status")
    def lifecycle(self, obj: Experiment | None) -> str:
        if obj is None or obj.pk is None:
            return "Draft (start it from the list of experiments once saved)."
        text = f"{obj.get_status_display()}, phase {obj.phase}"
        if obj.status != ExperimentStatus.DRAFT:
            results = reverse("admin:experiments_experiment_results", args=[obj.pk])
            text = format_html('{} — <a href="{}">{}</a>', text, results, _("Results"))
        if obj.status in LIVE_STATUSES:
            url = reverse("admin:experiments_experiment_stop", args=[obj.pk])
            return format_html('{} · <a href="{}">Stop…</a>', text, url)
        return text

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None):
        fields = ["lifecycle"]
        if obj is not None:
            fields += ["site", "planning"]
            if obj.status != ExperimentStatus.DRAFT:
                fields += LOCKED_WHEN_STARTED
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: Experiment | None = None):
        fieldsets = self.fieldsets
        if obj is None or obj.status not in LIVE_STATUSES:
            fieldsets = tuple(
                (title, {"fields": tuple(f for f in opts["fields"] if f != "keep_phase")})
                for title, opts in fieldsets
            )
        if obj is not None:
            fieldsets = (*fieldsets, self.planning_fieldset)
        return fieldsets

    def get_form(self, request: HttpRequest, obj: Experiment | None = None, **kwargs: Any):
        request._experiment_parent = obj
        return super().get_form(request, obj, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        if obj is not None and obj.status == ExperimentStatus.RUNNING:
            return False
        return super().has_delete_permission(request, obj)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any):
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                for warning in experiment_warnings(experiment=obj):
                    messages.warning(request, warning)
        return super().change_view(request, object_id, *args, **kwargs)

    # --- saving through the services' bookkeeping (phases, audit, configuration bump) ------

    def save_model(self, request: HttpRequest, obj: Experiment, form: Any, change: bool) -> None:
        before = None
        if change:
            stored = Experiment.objects.get(pk=obj.pk)
            before = experiment_setup_state(experiment=stored)
        request._experiment_before = before
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        experiment_setup_saved(
            experiment=form.instance,
            before=getattr(request, "_experiment_before", None),
            keep_phase=bool(form.cleaned_data.get("keep_phase")),
            user=request.user,
        )

    def delete_model(self, request: HttpRequest, obj: Experiment) -> None:
        experiment_delete(experiment=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            try:
                experiment_delete(experiment=experiment, user=request.user)
            except ValidationError as exc:
                messages.error(request, f"{experiment}: {' '.join(exc.messages)}")

    # --- lifecycle ----------------------------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet, service: Any, done: str) -> None:
        count = 0
        for experiment in queryset:
            if not self.has_change_permission(request, experiment):
                messages.error(request, f"{experiment}: you may not change it.")
                continue
            try:
                service(experiment=experiment, user=request.user)
            except ValidationError as exc:
                messages.error(request, f"{experiment}: {' '.join(exc.messages)}")
            else:
                count += 1
        if count:
            messages.success(request, f"{done} {count} experiment(s).")

    @admin.action(description="Start the selected experiments")
    def start_experiments(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, experiment_start, "Started")

    @admin.action(description="Pause the selected experiments")
    def pause_experiments(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, experiment_pause, "Paused")

    @admin.action(description="Resume the selected experiments")
    def resume_experiments(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, experiment_resume, "Resumed")

    @admin.action(description="Stop the selected experiments (no winner published)")
    def stop_experiments(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, experiment_stop, "Stopped")

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/stop/",
                self.admin_site.admin_view(self.stop_view),
                name="experiments_experiment_stop",
            ),
            path(
                "<int:pk>/results/",
                self.admin_site.admin_view(self.results_view),
                name="experiments_experiment_results",
            ),
            *super().get_urls(),
        ]

    def results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return admin_results.results_view(self, request, pk)

    def stop_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        experiment = get_object_or_404(self.get_queryset(request), pk=pk)
        if not user_has_site_perm(request.user, WRITE, experiment.site_id):
            raise PermissionDenied
        if experiment.status not in LIVE_STATUSES:
            raise Http404("This experiment is not running or paused.")
        form = StopForm(request.POST or None, experiment=experiment)
        if request.method == "POST" and form.is_valid():
            try:
                experiment_stop(
                    experiment=experiment,
                    winner=form.cleaned_data["winner"] or None,
                    user=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, f"Stopped “{experiment}”.")
                return HttpResponseRedirect(
                    reverse("admin:experiments_experiment_change", args=[experiment.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Stop {experiment}",
            "experiment": experiment,
            "form": form,
        }
        return TemplateResponse(request, "admin/experiments/stop.html", context)


@admin.register(Layer)
class LayerAdmin(ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = WRITE
    list_display = ("name", "key", "seed", "site")
    list_filter = ("site",)
    search_fields = ("key", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Layer | None = None):
        if obj is not None and obj.experiments.filter(status__in=LIVE_STATUSES).exists():
            return ("site", "seed")  # a new seed would move the live experiments' visitors
        return ("site",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Layer, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        site_config_bump(site_id=obj.site_id)

    def has_delete_permission(self, request: HttpRequest, obj: Layer | None = None) -> bool:
        if obj is not None and obj.experiments.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(GlobalHoldout)
class GlobalHoldoutAdmin(ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = WRITE
    list_display = ("site", "enabled", "share", "seed", "updated_at")
    list_filter = ("site", "enabled")

    def get_readonly_fields(self, request: HttpRequest, obj: GlobalHoldout | None = None):
        return ("site",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "site" and field is not None:  # one holdout per site
            field.queryset = field.queryset.filter(holdout__isnull=True)
        return field

    def save_model(self, request: HttpRequest, obj: GlobalHoldout, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        site_config_bump(site_id=obj.site_id)


@admin.register(Assignment)
class AssignmentAdmin(ScopedModelAdmin):
    """Read-only: assignments are recorded by delivery on first exposure and never edited."""

    read_perm = Perm.VIEW
    write_perm = WRITE
    list_display = ("unit_id", "experiment", "phase", "arm_key", "probability", "first_exposed_at")
    list_filter = ("site", "phase")
    search_fields = ("=unit_id",)
    list_select_related = ("experiment",)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
