"""Finding stored profiles by what an editor remembers of them: the start of their user id, a
word of their traits, or one trait's value (`city:Detroit`)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform

from segments.models import Profile


def profiles_search(*, queryset: QuerySet[Profile], term: str) -> QuerySet[Profile]:
    """`queryset` narrowed to the profiles `term` describes (all of them for a blank term)."""
    term = term.strip()
    if not term:
        return queryset
    key, sep, value = term.partition(":")
    if sep and key.strip() and value.strip() and " " not in key.strip():
        # One trait, compared case-insensitively as text (numbers too: `age:27`).
        return queryset.annotate(_trait=KeyTextTransform(key.strip(), "traits")).filter(
            _trait__iexact=value.strip()
        )
    return queryset.filter(Q(user_id__istartswith=term) | Q(traits__icontains=term))
