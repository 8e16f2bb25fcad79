from django_filters import rest_framework as filters

from segments.models import Field, FieldType, Segment, SegmentKind, SegmentStatus
from tenancy.api.filtering import SiteScopedFilterSet


class FieldFilter(SiteScopedFilterSet):
    type = filters.MultipleChoiceFilter(choices=FieldType.choices)
    path_prefix = filters.CharFilter(field_name="path", lookup_expr="startswith")
    search = filters.CharFilter(method="filter_search", help_text="Path or label contains.")

    class Meta:
        model = Field
        fields = ["site", "type", "builtin", "path", "path_prefix"]

    def filter_search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(path__icontains=value) | Q(label__icontains=value))


class SegmentFilter(SiteScopedFilterSet):
    status = filters.MultipleChoiceFilter(choices=SegmentStatus.choices)
    kind = filters.ChoiceFilter(choices=SegmentKind.choices)
    search = filters.CharFilter(
        method="filter_search", help_text="Key, name or description contains."
    )

    class Meta:
        model = Segment
        fields = ["site", "key", "status", "kind"]

    def filter_search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(
            Q(key__icontains=value) | Q(name__icontains=value) | Q(description__icontains=value)
        )
