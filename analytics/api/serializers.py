from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers

from analytics.models import CapKind, Metric, MetricKind
from analytics.services.metrics import METRIC_FIELDS
from tenancy.api.scoping import UserSitesField
from tenancy.roles import Perm
from tenancy.selectors import site_ids_for_user

WHERE_HELP = (
    "A property filter in the criteria language (docs/criteria.md, `where` of an event rule), "
    'e.g. {"all": [{"field": "properties.category", "op": "eq", "value": "shoes"}]}.'
)


class UserMetricField(serializers.PrimaryKeyRelatedField):
    """A metric of a site the user may read (same-site is checked by the definition)."""

    def get_queryset(self) -> QuerySet[Metric]:
        request = self.context.get("request")
        if request is None:
            return Metric.objects.none()
        return Metric.objects.filter(site_id__in=site_ids_for_user(request.user, Perm.VIEW))


class MetricSerializer(serializers.ModelSerializer):
    site = UserSitesField()
    kind = serializers.ChoiceField(choices=MetricKind.choices)
    cap = serializers.ChoiceField(choices=CapKind.choices, default=CapKind.NONE)
    where = serializers.JSONField(required=False, allow_null=True, help_text=WHERE_HELP)
    numerator = UserMetricField(required=False, allow_null=True)
    denominator = UserMetricField(required=False, allow_null=True)

    class Meta:
        model = Metric
        fields = ["id", "site", *METRIC_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []  # uniqueness and the definition are the service's job


class MetricUpdateSerializer(MetricSerializer):
    class Meta(MetricSerializer.Meta):
        read_only_fields = ["site", "created_at", "updated_at"]
