"""Admin for the field catalog, segments, profiles and events. Scoped per site; saving goes
through the services so that validation runs and history is recorded."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from segments.criteria import CriteriaError
from segments.forms import FieldAdminForm, SegmentAdminForm
from segments.models import (
    Event,
    Field,
    Profile,
    Segment,
    SegmentJob,
    SegmentJobKind,
    SegmentJobStatus,
    SegmentKind,
    SegmentRevision,
    SegmentStatus,
)
from segments.selectors.audience_sizes import segment_size_cached
from segments.selectors.counters import segment_counter_progress
from segments.selectors.event_properties import event_property_suggestions
from segments.selectors.jobs import segment_job_file, segment_job_status, segment_jobs_for_user
from segments.selectors.members import segment_count
from segments.selectors.profile_search import profiles_search
from segments.services.fields import field_create, field_delete, field_update, field_validate
from segments.services.jobs import segment_export_job_create, segment_upload_job_create
from segments.services.segments import (
    segment_archive,
    segment_create,
    segment_delete,
    segment_snapshot,
    segment_update,
)
from segments.services.static import UploadError, parse_user_ids_csv
from tenancy.admin_scoping import ScopedModelAdmin, SiteScopedAdminMixin, SiteScopedInlineMixin
from tenancy.roles import Perm
from tenancy.selectors import user_has_site_perm

# Counting a segment is a query over profiles: one list page counts at most this many
# uncounted segments (the rest say "not counted yet" until the next view).
AUDIENCE_COUNTS_PER_PAGE = 10
EVENT_NAME_MAX = 100  # Event.name's max_length


def _copy_saved(saved: Model, obj: Model) -> None:
    """Put the row a service saved onto the admin's object (the admin reads its pk and str)."""
    obj.__dict__.update({f.attname: getattr(saved, f.attname) for f in saved._meta.concrete_fields})


class SegmentsAdminMixin:
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_SEGMENTS


@admin.register(Field)
class FieldAdmin(SegmentsAdminMixin, ScopedModelAdmin):
    form = FieldAdminForm
    list_display = ["path", "type", "label", "builtin", "site"]
    list_filter = ["site", "type", "builtin"]
    search_fields = ["path", "label"]
    ordering = ["site", "path"]

    def get_readonly_fields(self, request: HttpRequest, obj: Field | None = None) -> list[str]:
        if obj is None:
            return []
        if obj.builtin:
            return ["site", "path", "type", "builtin"]
        return ["site", "path", "builtin"]

    def get_form(self, request: HttpRequest, obj: Field | None = None, **kwargs: object):
        form_class = super().get_form(request, obj, **kwargs)

        class ServiceValidatedForm(form_class):
            def clean(self) -> dict:
                data = super().clean()
                if self.errors:
                    return data
                site = obj.site_id if obj else data.get("site")
                try:
                    data["allowed_values"] = field_validate(
                        site=site,
                        path=obj.path if obj else data.get("path", ""),
                        type=data.get("type", obj.type if obj else ""),
                        allowed_values=data.get("allowed_values"),
                        field=obj,
                    )
                except ValidationError as exc:
                    for name, errors in exc.message_dict.items():
                        self.add_error(name if name in self.fields else None, errors)
                return data

        return ServiceValidatedForm

    def save_model(
        self, request: HttpRequest, obj: Field, form: FieldAdminForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            original = Field.objects.get(pk=obj.pk)
            saved = field_update(
                field=original,
                type=data.get("type", original.type),
                label=data.get("label"),
                help_text=data.get("help_text"),
                allowed_values=data.get("allowed_values"),
            )
        else:
            saved = field_create(
                site=data["site"],
                path=data["path"],
                type=data["type"],
                label=data.get("label", ""),
                help_text=data.get("help_text", ""),
                allowed_values=data.get("allowed_values"),
            )
        _copy_saved(saved, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Field | None = None) -> bool:
        if obj is not None and obj.builtin:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Field) -> None:
        try:
            field_delete(field=obj)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Field]) -> None:
        for field in queryset:
            try:
                field_delete(field=field)
            except ValidationError as exc:
                messages.error(request, f"{field.path}: {' '.join(exc.messages)}")


class SegmentRevisionInline(SegmentsAdminMixin, SiteScopedInlineMixin, admin.TabularInline):
    model = SegmentRevision
    site_lookup = "segment__site_id__in"
    extra = 0
    can_delete = False
    fields = ["changed_at", "changed_by", "summary", "name", "status", "criteria"]
    readonly_fields = fields
    verbose_name = gettext_lazy("change")
    verbose_name_plural = gettext_lazy("History")

    def has_add_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        return False


@admin.register(Segment)
class SegmentAdmin(SegmentsAdminMixin, ScopedModelAdmin):
    form = SegmentAdminForm
    change_form_template = "admin/segments/segment/change_form.html"
    list_display = ["name", "key", "site", "kind", "status_label", "audience_size", "updated_at"]
    list_filter = ["site", "status", "kind"]
    search_fields = ["name", "key", "description"]
    inlines = [SegmentRevisionInline]
    actions = ["export_csv", "snapshot_segments", "archive_segments"]

    def event_properties_view(self, request: HttpRequest) -> JsonResponse:
        """The builder's property suggestions for an event condition: JSON, only for a site
        the user may read (another site answers 404, as if it did not exist)."""
        site, event = request.GET.get("site", ""), request.GET.get("event", "").strip()
        errors = []
        if not site.isdigit():
            errors.append({"path": "site", "message": _("A site id is required.")})
        if not event or len(event) > EVENT_NAME_MAX:
            errors.append(
                {
                    "path": "event",
                    "message": _("An event name of 1 to %(max)s characters is required.")
                    % {"max": EVENT_NAME_MAX},
                }
            )
        if errors:
            message = _("Invalid request.")
            body = {"error": {"code": "invalid", "message": message, "fields": errors}}
            return JsonResponse(body, status=400)
        if not user_has_site_perm(request.user, self.read_perm, int(site)):
            return JsonResponse(
                {"error": {"code": "not_found", "message": _("No such site.")}}, status=404
            )
        return JsonResponse(event_property_suggestions(site=int(site), event=event))

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        budget = AUDIENCE_COUNTS_PER_PAGE
        for segment in changelist.result_list:
            segment.audience, computed = segment_size_cached(segment=segment, compute=budget > 0)
            budget -= computed
        return changelist

    @admin.display(description=gettext_lazy("Status"), ordering="status")
    def status_label(self, obj: Segment) -> str:
        if obj.status == SegmentStatus.ACTIVE:
            return _("Active")
        if obj.status == SegmentStatus.DRAFT:
            return _("Draft: matches nobody")
        return _("Archived: matches nobody")

    @admin.display(description=gettext_lazy("Audience"))
    def audience_size(self, obj: Segment) -> str:
        size = getattr(obj, "audience", None)
        if size is None:
            return format_html(
                '<span class="quiet" title="{}">{}</span>',
                _("Counted a few at a time; reload the page for more."),
                _("not counted yet"),
            )
        if size == "invalid":
            return format_html("<strong>{}</strong>", _("Invalid criteria"))
        return f"{size:,}"

    def get_fieldsets(self, request: HttpRequest, obj: Segment | None = None) -> list:
        main = ["site", "key", "name", "description", "kind", "status"]
        if obj is None:
            return [
                (None, {"fields": main}),
                (_("Criteria (dynamic segments)"), {"fields": ["criteria"]}),
                (_("Members (static segments)"), {"fields": ["members_csv", "upload_mode"]}),
            ]
        sets = [(None, {"fields": [*main, "live_member_count"]})]
        if obj.kind == SegmentKind.STATIC:
            sets.append(
                (
                    _("Members"),
                    {"fields": ["static_source", "snapshot_of", "members_csv", "upload_mode"]},
                )
            )
        else:
            sets.append((_("Criteria"), {"fields": ["criteria"]}))
            sets.append((_("Behavioural counters"), {"fields": ["behaviour_counters"]}))
        sets.append(
            (
                _("About"),
                {"fields": ["created_by", "created_at", "updated_at"], "classes": ["collapse"]},
            )
        )
        return sets

    def get_prepopulated_fields(self, request: HttpRequest, obj: Segment | None = None) -> dict:
        return {"key": ["name"]} if obj is None else {}  # the key is fixed once saved

    def get_readonly_fields(self, request: HttpRequest, obj: Segment | None = None) -> list[str]:
        fixed = [
            "live_member_count",
            "behaviour_counters",
            "static_source",
            "snapshot_of",
            "created_by",
            "created_at",
            "updated_at",
        ]
        if obj is None:
            return fixed
        return ["site", "key", "kind", *fixed]

    @admin.display(description=gettext_lazy("Event conditions"))
    def behaviour_counters(self, obj: Segment) -> str:
        """Each event condition's counter and its backfill progress."""
        rows = segment_counter_progress(segment=obj) if obj.pk else []
        if not rows:
            return _("No event conditions.")
        labels = {
            "ready": _("ready: decide reads the counter"),
            "backfilling": _(
                "backfilling %(done)s / %(total)s profiles (%(pct)s%%): decide scans "
                "recent events until done"
            ),
            "not counted": _("not counted: the segment is not active"),
            "scanned": _("scanned: the count asked for is beyond what counters keep"),
        }
        items = []
        for row in rows:
            pct = int(100 * row["done"] / row["total"]) if row["total"] else 0
            label = labels[row["state"]]
            if row["state"] == "backfilling":
                label = label % {
                    "done": f"{row['done']:,}",
                    "total": f"{row['total']:,}",
                    "pct": pct,
                }
            items.append((row["event"], row["keep"], label))
        return format_html(
            '<ul class="counters">{}</ul>',
            format_html_join("", _("<li><code>{}</code> (keeps {}): {}</li>"), items),
        )

    @admin.display(description=gettext_lazy("Members now"))
    def live_member_count(self, obj: Segment) -> str:
        if obj.pk is None:
            return "-"
        try:
            return f"{segment_count(segment=obj):,}"
        except CriteriaError as exc:
            return format_html("<strong>{}</strong>: {}", _("Invalid criteria"), str(exc))

    def get_form(self, request: HttpRequest, obj: Segment | None = None, **kwargs: object):
        form_class = super().get_form(request, obj, **kwargs)

        class UploadCheckingForm(form_class):
            def clean(self) -> dict:
                data = super().clean()
                upload = data.get("members_csv")
                if upload and not self.has_error("members_csv"):
                    try:
                        ids, result = parse_user_ids_csv(file=upload)
                    except UploadError as exc:
                        self.add_error("members_csv", exc.messages)
                    else:
                        for row in result.errors:
                            self.add_error(
                                "members_csv",
                                _("Row %(row)s: %(message)s")
                                % {"row": row["row"], "message": row["message"]},
                            )
                        if not ids and not result.errors:
                            self.add_error("members_csv", _("The file has no user ids."))
                    upload.seek(0)
                return data

        return UploadCheckingForm

    def save_model(
        self, request: HttpRequest, obj: Segment, form: SegmentAdminForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            original = Segment.objects.get(pk=obj.pk)
            saved = segment_update(
                segment=original,
                changed_by=request.user,
                name=data.get("name"),
                description=data.get("description"),
                criteria=data.get("criteria") if original.kind == SegmentKind.DYNAMIC else None,
                status=data.get("status"),
            )
        else:
            saved = segment_create(
                site=data["site"],
                key=data["key"],
                name=data["name"],
                description=data.get("description", ""),
                kind=data["kind"],
                criteria=data.get("criteria"),
                status=data["status"],
                created_by=request.user,
            )
        _copy_saved(saved, obj)
        upload = data.get("members_csv")
        if upload and saved.kind == SegmentKind.STATIC:
            try:
                job = segment_upload_job_create(
                    segment=saved,
                    file=upload,
                    mode=data.get("upload_mode") or "replace",
                    created_by=request.user,
                )
            except UploadError as exc:  # the form checked the file; this is a last guard
                messages.error(request, " ".join(exc.messages))
            else:
                # The response goes to the job's progress page (response_add/_change).
                request._segment_job = job

    def _job_redirect(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        job = getattr(request, "_segment_job", None)
        if job is None:
            return response
        return HttpResponseRedirect(self._job_url(job, "job"))

    def response_add(self, request: HttpRequest, obj: Segment, *args: Any) -> HttpResponse:
        return self._job_redirect(request, super().response_add(request, obj, *args))

    def response_change(self, request: HttpRequest, obj: Segment) -> HttpResponse:
        return self._job_redirect(request, super().response_change(request, obj))

    # --- upload and export jobs: a progress page that polls a JSON status ---

    def get_urls(self) -> list:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path(
                "event-properties/",
                wrap(self.event_properties_view),
                name="segments_event_properties",
            ),
            path("<int:pk>/export/", wrap(self.export_view), name=f"{info}_export"),
            path("<int:pk>/jobs/<int:job_id>/", wrap(self.job_view), name=f"{info}_job"),
            path(
                "<int:pk>/jobs/<int:job_id>/status/",
                wrap(self.job_status_view),
                name=f"{info}_job_status",
            ),
            path(
                "<int:pk>/jobs/<int:job_id>/download/",
                wrap(self.job_download_view),
                name=f"{info}_job_download",
            ),
            *super().get_urls(),
        ]

    def _job_url(self, job: SegmentJob, view: str) -> str:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return reverse(f"admin:{info}_{view}", args=[job.segment_id, job.pk])

    def _readable_segment(self, request: HttpRequest, pk: int) -> Segment:
        segment = self.get_queryset(request).filter(pk=pk).first()
        if segment is None or not self.has_view_permission(request, segment):
            raise Http404
        return segment

    def _job(self, request: HttpRequest, pk: int, job_id: int) -> SegmentJob:
        segment = self._readable_segment(request, pk)
        job = segment_jobs_for_user(user=request.user).filter(pk=job_id, segment=segment).first()
        if job is None:
            raise Http404
        return job

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: what the export holds and a button; POST: start the export job."""
        segment = self._readable_segment(request, pk)
        if request.method == "POST":
            job = segment_export_job_create(segment=segment, created_by=request.user)
            return HttpResponseRedirect(self._job_url(job, "job"))
        return TemplateResponse(
            request,
            "admin/segments/segment/export.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": segment,
                "title": _("Export the members of “%(segment)s”") % {"segment": segment.name},
            },
        )

    def job_view(self, request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
        job = self._job(request, pk, job_id)
        return TemplateResponse(
            request,
            "admin/segments/segment/job.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": job.segment,
                "job": job,
                "status": segment_job_status(job=job),
                "status_url": self._job_url(job, "job_status"),
                "title": _("%(kind)s of “%(segment)s”")
                % {"kind": job.get_kind_display(), "segment": job.segment.name},
            },
        )

    def job_status_view(self, request: HttpRequest, pk: int, job_id: int) -> JsonResponse:
        job = self._job(request, pk, job_id)
        status = segment_job_status(job=job)
        if status["download"]:
            status["download_url"] = self._job_url(job, "job_download")
        return JsonResponse(status)

    def job_download_view(self, request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
        job = self._job(request, pk, job_id)
        if job.kind != SegmentJobKind.EXPORT or job.status != SegmentJobStatus.DONE:
            raise Http404
        response = StreamingHttpResponse(
            segment_job_file(job=job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
        response["Content-Length"] = str(job.file_size)
        return response

    def delete_model(self, request: HttpRequest, obj: Segment) -> None:
        try:
            segment_delete(segment=obj)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        for segment in queryset:
            self.delete_model(request, segment)

    @admin.action(
        description=gettext_lazy("Export members of the selected segment as CSV"),
        permissions=["view"],
    )
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Segment]) -> HttpResponse | None:
        if queryset.count() != 1:
            messages.warning(request, _("Choose exactly one segment to export."))
            return None
        # A background job: its page shows the progress and offers the file when done.
        job = segment_export_job_create(segment=queryset.get(), created_by=request.user)
        return HttpResponseRedirect(self._job_url(job, "job"))

    @admin.action(
        description=gettext_lazy("Snapshot the selected dynamic segments"), permissions=["change"]
    )
    def snapshot_segments(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        for segment in queryset:
            if not self.has_change_permission(request, segment):
                continue
            if segment.kind != SegmentKind.DYNAMIC:
                messages.warning(
                    request,
                    _("%(key)s: only dynamic segments can be snapshotted.") % {"key": segment.key},
                )
                continue
            try:
                snapshot = segment_snapshot(segment=segment, created_by=request.user)
            except (CriteriaError, ValidationError) as exc:
                messages.error(request, f"{segment.key}: {exc}")
                continue
            messages.success(request, _("Snapshot %(key)s created.") % {"key": snapshot.key})

    @admin.action(description=gettext_lazy("Archive the selected segments"), permissions=["change"])
    def archive_segments(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        archived = 0
        for segment in queryset:
            if self.has_change_permission(request, segment):
                segment_archive(segment=segment, changed_by=request.user)
                archived += 1
        messages.success(
            request,
            ngettext("Archived %(n)s segment.", "Archived %(n)s segments.", archived)
            % {"n": archived},
        )


class ReadOnlyAdminMixin(SegmentsAdminMixin, SiteScopedAdminMixin):
    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user_id", "site", "last_seen", "visit_count", "consent"]
    list_filter = ["site", "consent"]
    search_fields = ["^user_id"]
    search_help_text = gettext_lazy(
        "The start of a user id, a word of the traits, or trait:value (city:Detroit)."
    )
    show_full_result_count = False
    fields = [
        "site",
        "user_id",
        "traits",
        "last_context",
        "first_seen",
        "last_seen",
        "visit_count",
        "consent",
    ]
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Profile], search_term: str
    ) -> tuple[QuerySet[Profile], bool]:
        return profiles_search(queryset=queryset, term=search_term), False

    def has_delete_permission(self, request: HttpRequest, obj: Profile | None = None) -> bool:
        # Erasure: those who manage segments may delete a person.
        return SiteScopedAdminMixin.has_change_permission(self, request, obj)


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "visitor_id", "profile", "site", "occurred_at"]
    list_filter = ["site", "kind"]
    search_fields = ["=visitor_id", "name"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    list_select_related = ["profile", "site"]
    fields = [
        "site",
        "name",
        "kind",
        "visitor_id",
        "profile",
        "event_id",
        "properties",
        "occurred_at",
        "received_at",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
