"""Content admin: placements and screens with inline variants, publishing buttons, revision
history with diffs, scheduling, the audit log, design schemas and the "preview as visitor / as
segment" views. Drafts are edited through model forms (validation lives in the models'
`clean`); every publishing action goes through `content.services.publishing`, deletes and the
design schema through `content.services.drafts`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from content.forms import (
    DesignSchemaForm,
    PathErrorsModelForm,
    PreviewSegmentForm,
    PreviewVisitorForm,
    ScheduleForm,
    TranslationForm,
    VariantFormSet,
)
from content.models import (
    AuditEntry,
    ContentVariant,
    ContentVariantTranslation,
    DesignSchema,
    Placement,
    PublishSchedule,
    Screen,
    ScreenVariant,
    ScreenVariantTranslation,
)
from content.models.audit import AuditAction
from content.models.schedules import ScheduleStatus
from content.models.slots import Slot
from content.preview import preview_segment, preview_visitor
from content.selectors.audit import slot_audit
from content.selectors.revisions import (
    revision_diff,
    slot_has_unpublished_changes,
    slot_live_revision,
    slot_revision_get,
    slot_revisions,
)
from content.selectors.schedules import slot_schedules
from content.selectors.translations import (
    slot_missing_translations,
    slot_translations_status,
    variant_translations_status,
)
from content.services.drafts import design_schema_update, placement_delete, screen_delete
from content.services.publishing import (
    publish_schedule_cancel,
    slot_publish,
    slot_rollback,
    slot_schedule,
    slot_unpublish,
)
from segments.documents import merge_documents, profile_document
from segments.models import Profile, Segment, SegmentStatus
from segments.selectors.profile_search import profiles_search
from tenancy.admin_scoping import ScopedModelAdmin, SiteScopedInlineMixin
from tenancy.roles import Perm
from tenancy.selectors import sites_for_user, user_has_site_perm

PROFILE_PAGE_SIZE = 20

AUDIT_VERBS: dict[str, str] = {
    AuditAction.PUBLISH: gettext_lazy("published"),
    AuditAction.UNPUBLISH: gettext_lazy("unpublished"),
    AuditAction.ROLLBACK: gettext_lazy("rolled back"),
    AuditAction.SCHEDULE: gettext_lazy("scheduled"),
    AuditAction.SCHEDULE_CANCEL: gettext_lazy("cancelled a schedule of"),
    AuditAction.DELETE: gettext_lazy("deleted"),
}


def audit_sentence(entry: AuditEntry) -> str:
    """ "Ana published placement home_hero (revision 4)"."""
    actor = entry.actor
    who = (actor.get_full_name() or actor.get_username()) if actor is not None else _("System")
    verb = AUDIT_VERBS.get(entry.action, entry.action)
    text = f"{who} {verb} {entry.get_slot_kind_display()} {entry.slot_key}"
    details = entry.details or {}
    if entry.action == AuditAction.SCHEDULE and details.get("run_at"):
        action = details.get("action", "publish")
        action = {"publish": _("publish"), "unpublish": _("unpublish")}.get(action, action)
        text += " " + _("to %(action)s at %(when)s") % {"action": action, "when": details["run_at"]}
    if entry.revision_number:
        text += " " + _("(revision %(number)s)") % {"number": entry.revision_number}
    return text


def _segment_label(segment: Segment) -> str:
    status = (
        ""
        if segment.status == SegmentStatus.ACTIVE
        else " — "
        + _("%(status)s, never matches") % {"status": str(segment.get_status_display()).lower()}
    )
    return f"{segment.name} [{segment.key}]{status}"


class VariantInline(SiteScopedInlineMixin, admin.StackedInline):
    read_perm = Perm.VIEW
    write_perm = Perm.EDIT_CONTENT
    form = PathErrorsModelForm
    formset = VariantFormSet
    extra = 0
    ordering = ["priority", "key"]
    autocomplete_fields: list[str] = []

    def get_formset(self, request: HttpRequest, obj: Slot | None = None, **kwargs: Any) -> Any:
        request._content_parent = obj  # read by formfield_for_foreignkey
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "segment":
            parent = getattr(request, "_content_parent", None)
            if parent is not None:
                kwargs["queryset"] = Segment.objects.filter(site_id=parent.site_id)
            else:
                kwargs["queryset"] = Segment.objects.filter(
                    site__in=sites_for_user(request.user, self.write_perm)
                )
            kwargs["required"] = False
            kwargs["empty_label"] = _("— default (everyone else) —")
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            field.label_from_instance = _segment_label
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ContentVariantInline(VariantInline):
    model = ContentVariant
    site_lookup = "placement__site_id__in"
    fields = [("key", "name"), ("segment", "priority"), ("starts_at", "ends_at"), "body"]


class ScreenVariantInline(VariantInline):
    model = ScreenVariant
    site_lookup = "screen__site_id__in"
    fields = [("key", "name"), ("segment", "priority"), ("starts_at", "ends_at"), "design"]


# --- translations: inline under a variant, status on the slot's pages --------------------------


class TranslationInline(SiteScopedInlineMixin, admin.TabularInline):
    """A variant's versions in the site's other languages; one prefilled row per missing one."""

    read_perm = Perm.VIEW
    write_perm = Perm.EDIT_CONTENT
    form = TranslationForm
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        languages = list(obj.parent.site.languages or []) if obj is not None else []
        missing = (
            variant_translations_status(variant=obj, languages=languages).missing if obj else []
        )
        kwargs["form"] = type("Form", (self.form,), {"languages": languages})
        kwargs["extra"] = len(missing)
        formset = super().get_formset(request, obj, **kwargs)

        class Prefilled(formset):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kw: Any) -> None:
                kw.setdefault("initial", [{"language": language} for language in missing])
                super().__init__(*args, **kw)

        return Prefilled


class ContentVariantTranslationInline(TranslationInline):
    model = ContentVariantTranslation
    site_lookup = "variant__placement__site_id__in"
    fields = ["language", "body"]


class ScreenVariantTranslationInline(TranslationInline):
    model = ScreenVariantTranslation
    site_lookup = "variant__screen__site_id__in"
    fields = ["language", "design"]


class TranslationStatusMixin:
    """The slot's change page shows a variant-by-language matrix of translations, and the
    changelist which translations are missing."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("variants__translations")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "translations"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_fields(request, obj))
        return fields if obj is None or "translations" in fields else [*fields, "translations"]

    def get_list_display(self, request: HttpRequest) -> list[str]:
        return [*super().get_list_display(request), "missing_translations"]

    @admin.display(description=gettext_lazy("Translations"))
    def missing_translations(self, obj: Slot) -> str:
        if not obj.site.languages:
            return "—"
        missing = slot_missing_translations(slot=obj)
        if not missing:
            return _("complete")
        listed = ", ".join(f"{tag} ({n})" for tag, n in missing.items())
        return _("missing: %(languages)s") % {"languages": listed}

    @admin.display(description=gettext_lazy("Translations"))
    def translations(self, obj: Slot) -> str:
        if obj.pk is None:
            return "—"
        rows = [
            {"status": status, "url": _admin_change_url(status.variant)}
            for status in slot_translations_status(slot=obj)
        ]
        languages = list(obj.site.languages or [])
        show_other = not languages or any(row["status"].extra for row in rows)
        context = {"rows": rows, "languages": languages, "site": obj.site, "show_other": show_other}
        return render_to_string("admin/content/translations_matrix.html", context)


def _admin_change_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


class SlotAdmin(ScopedModelAdmin):
    form = PathErrorsModelForm
    read_perm = Perm.VIEW
    write_perm = Perm.EDIT_CONTENT
    change_form_template = "admin/content/slot_change_form.html"
    change_list_template = "admin/content/slot_change_list.html"
    list_filter = ["site"]
    search_fields = ["key", "name"]
    readonly_fields = ["publishing_status", "created_at", "updated_at"]
    serves_previews = False  # the preview views live under the placement admin

    # --- permissions -------------------------------------------------------------------------

    def can_publish(self, request: HttpRequest, obj: Slot) -> bool:
        return user_has_site_perm(request.user, Perm.PUBLISH_CONTENT, obj.site_id)

    def has_delete_permission(self, request: HttpRequest, obj: Slot | None = None) -> bool:
        if obj is not None and obj.is_live and not self.can_publish(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_prepopulated_fields(self, request: HttpRequest, obj: Slot | None = None) -> dict:
        return {"key": ["name"]} if obj is None else {}  # the key is fixed once saved

    def get_readonly_fields(self, request: HttpRequest, obj: Slot | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        if obj is not None:
            fields += ["site", "key"]  # delivery and revisions refer to them
        return fields

    def delete_model(self, request: HttpRequest, obj: Slot) -> None:
        self.slot_delete(obj, request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            if self.has_delete_permission(request, obj):
                self.slot_delete(obj, request.user)

    def slot_delete(self, obj: Slot, user: Any) -> None:
        raise NotImplementedError

    @admin.display(description=gettext_lazy("Publishing"))
    def publishing_status(self, obj: Slot) -> str:
        if obj.pk is None:
            return _("Not saved yet")
        live = slot_live_revision(slot=obj)
        changed = slot_has_unpublished_changes(slot=obj)
        if live is None:
            return _("Not published (draft only)") if changed else _("Not published")
        text = _("Live: revision %(number)s (%(when)s UTC)") % {
            "number": live.number,
            "when": f"{live.created_at:%Y-%m-%d %H:%M}",
        }
        if changed:
            return text + " — " + _("the draft has unpublished changes")
        return text + " — " + _("the draft matches it")

    @admin.display(description=gettext_lazy("Live revision"), ordering="live_revision__number")
    def live(self, obj: Slot) -> str:
        return f"r{obj.live_revision.number}" if obj.live_revision_id else "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # `n_variants` feeds the list's variant column (not one COUNT query per row).
        return (
            super()
            .get_queryset(request)
            .select_related("site", "live_revision")
            .annotate(n_variants=Count("variants"))
        )

    # --- extra views -------------------------------------------------------------------------

    def get_urls(self) -> list:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        urls = [
            path("<int:pk>/publish/", wrap(self.publish_view), name=f"{info}_publish"),
            path("<int:pk>/unpublish/", wrap(self.unpublish_view), name=f"{info}_unpublish"),
            path("<int:pk>/revisions/", wrap(self.revisions_view), name=f"{info}_revisions"),
            path(
                "<int:pk>/revisions/<int:number>/",
                wrap(self.revision_view),
                name=f"{info}_revision",
            ),
            path(
                "<int:pk>/revisions/<int:number>/rollback/",
                wrap(self.rollback_view),
                name=f"{info}_rollback",
            ),
            path("<int:pk>/schedule/", wrap(self.schedule_view), name=f"{info}_schedule"),
        ]
        if self.serves_previews:
            visitor, segment = self.preview_visitor_view, self.preview_segment_view
            urls += [
                path(
                    "preview/profiles/",
                    wrap(self.preview_profiles_view),
                    name="content_preview_profiles",
                ),
                path("preview/visitor/", wrap(visitor), name="content_preview_visitor"),
                path("preview/segment/", wrap(segment), name="content_preview_segment"),
            ]
        return urls + super().get_urls()

    def _slot(self, request: HttpRequest, pk: int, *, perm: Perm = Perm.VIEW) -> Slot:
        obj = self.get_queryset(request).filter(pk=pk).first()
        if obj is None or not user_has_site_perm(request.user, Perm.VIEW, obj.site_id):
            raise Http404
        if not user_has_site_perm(request.user, perm, obj.site_id):
            raise PermissionDenied
        return obj

    def _change_url(self, obj: Slot) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])

    def _context(self, request: HttpRequest, obj: Slot | None, title: str, **extra: Any) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "change_url": self._change_url(obj) if obj is not None else None,
            "title": title,
            "has_view_permission": True,
            **extra,
        }

    def _post_only(self, request: HttpRequest) -> None:
        if request.method != "POST":
            raise PermissionDenied(_("Use the buttons (POST)."))

    def _confirm(self, request: HttpRequest, obj: Slot, title: str, message: str) -> HttpResponse:
        """A page that asks before an action that is easy to regret; it re-posts with confirm."""
        context = self._context(
            request, obj, title, message=message, action_url=request.path, note=request.POST
        )
        return TemplateResponse(request, "admin/content/confirm.html", context)

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._post_only(request)
        obj = self._slot(request, pk, perm=Perm.PUBLISH_CONTENT)
        pending = slot_schedules(slot=obj).filter(status=ScheduleStatus.PENDING)
        if pending.exists() and "confirm" not in request.POST:
            first = pending.order_by("run_at").first()
            return self._confirm(
                request,
                obj,
                _("Publish %(slot)s now?") % {"slot": obj},
                ngettext(
                    "%(slot)s has %(count)s pending schedule, the next one to %(action)s at "
                    "%(when)s UTC. Publishing now does not cancel it.",
                    "%(slot)s has %(count)s pending schedules, the next one to %(action)s at "
                    "%(when)s UTC. Publishing now does not cancel them.",
                    pending.count(),
                )
                % {
                    "slot": obj,
                    "count": pending.count(),
                    "action": first.get_action_display().lower(),
                    "when": f"{first.run_at:%Y-%m-%d %H:%M}",
                },
            )
        try:
            revision = slot_publish(slot=obj, user=request.user, note=request.POST.get("note", ""))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, _("Not published: %(error)s") % {"error": message})
        else:
            messages.success(
                request,
                _("Published “%(slot)s” as revision %(number)s.")
                % {"slot": obj, "number": revision.number},
            )
        return HttpResponseRedirect(self._change_url(obj))

    def unpublish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._post_only(request)
        obj = self._slot(request, pk, perm=Perm.PUBLISH_CONTENT)
        try:
            slot_unpublish(slot=obj, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("“%(slot)s” is no longer delivered.") % {"slot": obj})
        return HttpResponseRedirect(self._change_url(obj))

    def rollback_view(self, request: HttpRequest, pk: int, number: int) -> HttpResponse:
        self._post_only(request)
        obj = self._slot(request, pk, perm=Perm.PUBLISH_CONTENT)
        if "confirm" not in request.POST:
            return self._confirm(
                request,
                obj,
                _("Roll %(slot)s back to revision %(number)s?") % {"slot": obj, "number": number},
                _(
                    "Revision %(number)s becomes live at once, as a new revision, and the draft "
                    "is replaced by it."
                )
                % {"number": number},
            )
        try:
            revision = slot_rollback(slot=obj, revision=number, user=request.user)
        except ValidationError as exc:
            messages.error(
                request, _("Not rolled back: %(error)s") % {"error": " ".join(exc.messages)}
            )
        else:
            messages.success(
                request,
                _("Restored revision %(number)s; live as revision %(live)s.")
                % {"number": number, "live": revision.number},
            )
        return HttpResponseRedirect(self._change_url(obj))

    def revisions_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self._slot(request, pk)
        context = self._context(
            request,
            obj,
            _("Revisions of %(slot)s") % {"slot": obj},
            revisions=slot_revisions(slot=obj),
            audit=[(entry, audit_sentence(entry)) for entry in slot_audit(slot=obj)[:50]],
            schedules=slot_schedules(slot=obj)[:50],
            can_publish=self.can_publish(request, obj),
        )
        return self._render_in_site_zone(request, "admin/content/revisions.html", context, obj.site)

    def revision_view(self, request: HttpRequest, pk: int, number: int) -> HttpResponse:
        obj = self._slot(request, pk)
        revision = slot_revision_get(slot=obj, number=number)
        if revision is None:
            raise Http404
        context = self._context(
            request,
            obj,
            _("%(slot)s: revision %(number)s") % {"slot": obj, "number": number},
            revision=revision,
            diff_draft=revision_diff(revision=revision, against="draft"),
            diff_live=revision_diff(revision=revision, against="live"),
            snapshot=revision.snapshot,
            can_publish=self.can_publish(request, obj),
        )
        return TemplateResponse(request, "admin/content/revision.html", context)

    def _render_in_site_zone(
        self, request: HttpRequest, template: str, context: dict, site: Any
    ) -> HttpResponse:
        """Times on the page are read and shown in the site's time zone, which is named."""
        with timezone.override(ZoneInfo(site.timezone)):
            context["site_timezone"] = site.timezone
            return TemplateResponse(request, template, context).render()

    def schedule_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self._slot(request, pk, perm=Perm.PUBLISH_CONTENT)
        with timezone.override(ZoneInfo(obj.site.timezone)):
            return self._schedule(request, obj)

    def _schedule(self, request: HttpRequest, obj: Slot) -> HttpResponse:
        form = ScheduleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                schedule = slot_schedule(slot=obj, user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                messages.success(request, _("Scheduled: %(schedule)s.") % {"schedule": schedule})
                return HttpResponseRedirect(self._change_url(obj))
        context = self._context(
            request,
            obj,
            _("Schedule %(slot)s") % {"slot": obj},
            form=form,
            media=self.media + form.media,
            schedules=slot_schedules(slot=obj)[:20],
        )
        return self._render_in_site_zone(request, "admin/content/schedule.html", context, obj.site)

    def preview_profiles_view(self, request: HttpRequest) -> JsonResponse:
        """The profile picker's search (select2's format), within one site the user may read."""
        site = request.GET.get("site", "")
        allowed = site.isdigit() and user_has_site_perm(request.user, Perm.VIEW, int(site))
        profiles = Profile.objects.none()
        if allowed:
            profiles = profiles_search(
                queryset=Profile.objects.filter(site_id=int(site)).order_by("user_id"),
                term=request.GET.get("term", ""),
            )
        number = request.GET.get("page", "1")
        start = (int(number) - 1 if number.isdigit() and int(number) > 0 else 0) * PROFILE_PAGE_SIZE
        # One row past the page says whether there is more (no COUNT over every profile).
        rows = list(profiles.values_list("pk", "user_id")[start : start + PROFILE_PAGE_SIZE + 1])
        return JsonResponse(
            {
                "results": [
                    {"id": str(pk), "text": user_id} for pk, user_id in rows[:PROFILE_PAGE_SIZE]
                ],
                "pagination": {"more": len(rows) > PROFILE_PAGE_SIZE},
            }
        )

    def preview_visitor_view(self, request: HttpRequest) -> HttpResponse:
        sites = sites_for_user(request.user, Perm.VIEW)
        if not sites.exists():
            raise PermissionDenied
        form = PreviewVisitorForm(request.POST or None, sites=sites)
        result = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            document: dict[str, Any] = {}
            if data["profile"] is not None:
                document = profile_document(data["profile"])
            if data["document"]:
                document = merge_documents(document, data["document"])
            result = preview_visitor(
                site=data["site"],
                document=document,
                source=data["source"],
                now=data["now"],
                language=data["language"],
            )
        return self._preview_page(request, _("Preview as visitor"), form, result, mode="visitor")

    def preview_segment_view(self, request: HttpRequest) -> HttpResponse:
        sites = sites_for_user(request.user, Perm.VIEW)
        if not sites.exists():
            raise PermissionDenied
        form = PreviewSegmentForm(request.POST or request.GET or None, sites=sites)
        result = None
        if (request.method == "POST" or request.GET) and form.is_valid():
            data = form.cleaned_data
            result = preview_segment(
                site=data["site"], segment=data["segment"], source=data["source"], now=data["now"]
            )
        return self._preview_page(request, _("Preview as segment"), form, result, mode="segment")

    def _preview_page(
        self, request: HttpRequest, title: str, form: Any, result: Any, *, mode: str
    ) -> HttpResponse:
        media = self.media + form.media  # core.js and the calendar for the date pickers
        context = self._context(
            request, None, title, form=form, media=media, result=result, mode=mode
        )
        return TemplateResponse(request, "admin/content/preview.html", context)

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any
    ) -> Any:
        obj = kwargs.get("obj") or context.get("original")
        context["can_publish"] = obj is not None and obj.pk and self.can_publish(request, obj)
        return super().render_change_form(request, context, *args, **kwargs)


@admin.register(Placement)
class PlacementAdmin(TranslationStatusMixin, SlotAdmin):
    serves_previews = True
    list_display = ["key", "name", "site", "kind", "live", "variant_count", "updated_at"]
    list_filter = ["site", "kind"]
    inlines = [ContentVariantInline]
    fields = ["site", "key", "name", "description", "kind", "json_schema", "publishing_status"]

    @admin.display(description=gettext_lazy("Variants"), ordering="n_variants")
    def variant_count(self, obj: Placement) -> int:
        return obj.n_variants

    def slot_delete(self, obj: Slot, user: Any) -> None:
        placement_delete(placement=obj, user=user)


@admin.register(Screen)
class ScreenAdmin(TranslationStatusMixin, SlotAdmin):
    list_display = ["key", "name", "site", "live", "variant_count", "updated_at"]
    inlines = [ScreenVariantInline]
    fields = ["site", "key", "name", "description", "publishing_status"]

    @admin.display(description=gettext_lazy("Designs"), ordering="n_variants")
    def variant_count(self, obj: Screen) -> int:
        return obj.n_variants

    def slot_delete(self, obj: Slot, user: Any) -> None:
        screen_delete(screen=obj, user=user)


@admin.register(DesignSchema)
class DesignSchemaAdmin(ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_SITE
    list_display = ["site", "updated_at", "updated_by"]
    form = DesignSchemaForm
    fields = ["site", "schema", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def save_model(self, request: HttpRequest, obj: DesignSchema, form: Any, change: bool) -> None:
        # The form already ran the same checks (DesignSchemaForm.clean).
        saved = design_schema_update(site=obj.site, schema=obj.schema, user=request.user)
        obj.pk = saved.pk


@admin.register(PublishSchedule)
class PublishScheduleAdmin(ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = Perm.PUBLISH_CONTENT
    list_display = [
        "__str__",
        "site",
        "action",
        "slot_link",
        "run_at",
        "status",
        "created_by",
        "executed_at",
    ]
    list_filter = ["status", "action", "site"]
    actions = ["cancel_schedules"]

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False  # scheduled from a placement's or screen's page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("Slot"))
    def slot_link(self, obj: PublishSchedule) -> str:
        slot = obj.slot
        url = reverse(f"admin:content_{slot._meta.model_name}_change", args=[slot.pk])
        return format_html('<a href="{}">{}</a>', url, slot.key)

    @admin.action(description=gettext_lazy("Cancel selected pending schedules"))
    def cancel_schedules(self, request: HttpRequest, queryset: QuerySet[PublishSchedule]) -> None:
        done = 0
        for schedule in queryset.filter(status=ScheduleStatus.PENDING):
            if user_has_site_perm(request.user, Perm.PUBLISH_CONTENT, schedule.site_id):
                publish_schedule_cancel(schedule=schedule, user=request.user)
                done += 1
        messages.success(
            request,
            ngettext("Cancelled %(count)s schedule.", "Cancelled %(count)s schedules.", done)
            % {"count": done},
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModelAdmin):
    read_perm = Perm.VIEW
    list_display = ["created_at", "sentence", "site"]
    list_select_related = ["actor", "site"]
    list_filter = ["action", "slot_kind", "site"]
    search_fields = ["slot_key", "actor__username"]

    @admin.display(description=gettext_lazy("What happened"))
    def sentence(self, obj: AuditEntry) -> str:
        return audit_sentence(obj)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VariantTranslationsAdmin(ScopedModelAdmin):
    """A variant's page for translators: its base content read-only, its translations inline.
    Variants are added and changed on their slot's page; this page is reached from there."""

    read_perm = Perm.VIEW
    write_perm = Perm.EDIT_CONTENT

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {}  # not listed on the index: reached from the slot's translations matrix

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        if "_continue" in request.POST:
            return super().response_change(request, obj)
        messages.success(request, _("Saved the translations of “%(variant)s”.") % {"variant": obj})
        return HttpResponseRedirect(_admin_change_url(obj.parent))


@admin.register(ContentVariant)
class ContentVariantAdmin(VariantTranslationsAdmin):
    site_lookup = "placement__site_id__in"
    fields = ["placement", "key", "name", "segment", "body"]
    readonly_fields = fields
    inlines = [ContentVariantTranslationInline]


@admin.register(ScreenVariant)
class ScreenVariantAdmin(VariantTranslationsAdmin):
    site_lookup = "screen__site_id__in"
    fields = ["screen", "key", "name", "segment", "design"]
    readonly_fields = fields
    inlines = [ScreenVariantTranslationInline]
