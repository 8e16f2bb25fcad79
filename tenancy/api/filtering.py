"""Query-string filters that cannot be used as an existence oracle.

django-filter offers a foreign key as a choice among *all* rows: an id of another site's
object answers 200 (an empty page) while an unknown id answers 400. Here every model
choice is narrowed to what the requesting user may read, so an id of another site behaves
exactly like an id that does not exist (the same 400 and body).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django_filters import rest_framework as filters
from django_filters.filters import ModelChoiceFilter, ModelMultipleChoiceFilter

from tenancy.models import Site
from tenancy.selectors import site_ids_for_user


def _readable(model: type[Model], user: Any) -> QuerySet:
    site_ids = site_ids_for_user(user) if user is not None else []
    if model is Site:
        return Site.objects.filter(pk__in=site_ids)
    if any(f.name == "site" for f in model._meta.get_fields()):
        return model._default_manager.filter(site_id__in=site_ids)
    return model._default_manager.none()  # not site-owned: declare a NumberFilter instead


class SiteScopedFilterSet(filters.FilterSet):
    def __init__(self, data=None, queryset=None, *, request=None, prefix=None) -> None:
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = getattr(request, "user", None)
        for declared in self.filters.values():
            if isinstance(declared, ModelChoiceFilter | ModelMultipleChoiceFilter):
                declared.queryset = _readable(declared.queryset.model, user)


class SiteScopedFilterBackend(filters.DjangoFilterBackend):
    """The API's filter backend: `filterset_fields` get a SiteScopedFilterSet too."""

    filterset_base = SiteScopedFilterSet
