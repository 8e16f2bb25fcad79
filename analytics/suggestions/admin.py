"""The "Segment suggestions" admin page: start a run, follow it, read the suggestions in
plain words and save one as a draft dynamic segment. Thin: the work is in `services`.

Scoped like the other admins: a user sees the runs of the sites they may read, and starts
runs or saves segments only on sites where they manage segments."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy

from analytics.suggestions.features import default_value_event
from analytics.suggestions.forms import SuggestForm
from analytics.suggestions.models import SuggestionRun
from analytics.suggestions.services import suggestion_run_start, suggestion_save
from analytics.suggestions.words import describe_facts, describe_tree
from segments.criteria import CriteriaError, Labels
from segments.selectors.catalog import site_field_catalog
from tenancy.admin_scoping import ScopedModelAdmin
from tenancy.roles import Perm
from tenancy.selectors import sites_for_user, user_has_site_perm

RUNS_SHOWN = 10


@admin.register(SuggestionRun)
class SuggestionRunAdmin(ScopedModelAdmin):
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_SEGMENTS

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False  # runs start from the page's form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("suggest/", wrap(self.page_view), name="{}_{}_page".format(*info)),
            path(
                "<int:pk>/save/<int:index>/",
                wrap(self.save_view),
                name="{}_{}_save".format(*info),
            ),
            *super().get_urls(),
        ]

    def _page_url(self, site_id: int, run_id: int | None = None) -> str:
        query = {"site": site_id, **({"run": run_id} if run_id else {})}
        return f"{reverse('admin:analytics_suggestionrun_page')}?{urlencode(query)}"

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any):
        run = self.get_queryset(request).filter(pk=object_id if object_id.isdigit() else 0).first()
        if run is None:
            raise Http404
        return HttpResponseRedirect(self._page_url(run.site_id, run.pk))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        """The app list's entry opens the page (the admin's own list has nothing to add)."""
        query = request.GET.urlencode()
        url = reverse("admin:analytics_suggestionrun_page")
        return HttpResponseRedirect(f"{url}?{query}" if query else url)

    def page_view(self, request: HttpRequest) -> HttpResponse:
        sites = list(sites_for_user(request.user, Perm.VIEW).order_by("name"))
        if not sites:
            raise PermissionDenied
        wanted = request.GET.get("site") or request.POST.get("site")
        site = next((s for s in sites if str(s.pk) == wanted), sites[0])
        can_write = user_has_site_perm(request.user, Perm.MANAGE_SEGMENTS, site)
        default_event = default_value_event(site_id=site.pk)
        form = SuggestForm(site_id=site.pk, default_event=default_event)
        if request.method == "POST":
            if not can_write:
                raise PermissionDenied
            form = SuggestForm(request.POST, site_id=site.pk, default_event=default_event)
            if form.is_valid():
                try:
                    run = suggestion_run_start(
                        site=site,
                        event=form.cleaned_data["event"],
                        window_days=form.cleaned_data["window_days"],
                        created_by=request.user,
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    return HttpResponseRedirect(self._page_url(site.pk, run.pk))
        runs = list(SuggestionRun.objects.filter(site=site)[:RUNS_SHOWN])
        run_id = request.GET.get("run", "")
        run = next((r for r in runs if str(r.pk) == run_id), None)
        if run is None and run_id.isdigit():
            run = SuggestionRun.objects.filter(site=site, pk=int(run_id)).first()
        if run is None and runs:
            run = runs[0]
        labels = Labels.from_catalog(catalog=site_field_catalog(site=site), translator=translation)
        cards = []
        for index, s in enumerate(run.suggestions if run else []):
            try:
                sentence = describe_tree(s["criteria"], labels)
            except (KeyError, TypeError, CriteriaError):
                sentence = ""
            quality = s.get("quality")
            cards.append(
                {
                    "index": index,
                    "kind": s["kind"],
                    "name": gettext(s["name"]) if s["kind"] == "rfm" else s["name"],
                    "description": gettext(s["description"])
                    if s["kind"] == "rfm"
                    else describe_facts(s.get("facts") or [], labels),
                    "sentence": sentence,
                    "size": s["size"],
                    "quality": quality,
                    "precision": round(100 * quality["precision"]) if quality else None,
                    "recall": round(100 * quality["recall"]) if quality else None,
                    "segment_id": s.get("segment_id"),
                    "save_url": reverse("admin:analytics_suggestionrun_save", args=[run.pk, index]),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext_lazy("Segment suggestions"),
            "site": site,
            "sites": sites,
            "form": form,
            "can_write": can_write,
            "runs": runs,
            "run": run,
            "cards": cards,
            "refresh": run is not None and not run.is_finished,
        }
        return render(request, "admin/analytics/suggestions.html", context)

    def save_view(self, request: HttpRequest, pk: int, index: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:analytics_suggestionrun_page"))
        run = self.get_queryset(request).select_related("site").filter(pk=pk).first()
        if run is None:
            raise Http404
        if not user_has_site_perm(request.user, Perm.MANAGE_SEGMENTS, run.site_id):
            raise PermissionDenied
        try:
            segment = suggestion_save(run=run, index=index, created_by=request.user)
        except (ValidationError, CriteriaError) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, gettext("Could not save the segment: %s") % text)
            return HttpResponseRedirect(self._page_url(run.site_id, run.pk))
        messages.success(
            request,
            gettext("Saved as the draft segment “%(name)s”: check it, then activate it.")
            % {"name": segment.name},
        )
        return HttpResponseRedirect(reverse("admin:segments_segment_change", args=[segment.pk]))
