"""The "Suggest segments" form: the value event (one of the site's events) and the window."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.suggestions.features import site_event_names
from analytics.suggestions.services import (
    DEFAULT_WINDOW_DAYS,
    MAX_WINDOW_DAYS,
    MIN_WINDOW_DAYS,
)


class SuggestForm(forms.Form):
    event = forms.ChoiceField(
        label=_("Value event"),
        help_text=_("What counts as buying (Recency and Frequency are about this event)."),
    )
    window_days = forms.IntegerField(
        label=_("Window (days)"),
        min_value=MIN_WINDOW_DAYS,
        max_value=MAX_WINDOW_DAYS,
        initial=DEFAULT_WINDOW_DAYS,
        help_text=_("Frequency counts events in this many days; clusters read them too."),
    )

    def __init__(self, *args: object, site_id: int, default_event: str | None, **kwargs: object):
        super().__init__(*args, **kwargs)
        names = site_event_names(site_id=site_id, limit=200)
        self.fields["event"].choices = [(n, f"{n} ({count})") for n, count in names]
        if default_event:
            self.fields["event"].initial = default_event
