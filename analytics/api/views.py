"""Management API for metrics (goals): site-scoped and role-checked like segments."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import viewsets

from analytics.api.serializers import MetricSerializer, MetricUpdateSerializer
from analytics.models import Metric
from analytics.services.metrics import metric_create, metric_delete, metric_update
from segments.api.views import as_api_errors  # validation errors into the API envelope
from tenancy.api.scoping import SiteScopedViewSetMixin
from tenancy.roles import Perm

REVENUE_EXAMPLE = {
    "site": 1,
    "key": "revenue",
    "name": "Revenue per visitor",
    "kind": "sum",
    "event": "purchase",
    "property": "price",
    "window_days": 7,
    "cap": "percentile",
    "cap_value": 99,
}


@extend_schema_view(
    list=extend_schema(summary="List your sites' metrics (goals)"),
    retrieve=extend_schema(summary="A metric"),
    create=extend_schema(
        summary="Define a metric",
        description=(
            "conversion: did the visitor do `event` (passing `where`) within `window_days` of "
            "seeing a variant; count: how many times; sum: the total of `property` (revenue); "
            "ratio: Σ numerator / Σ denominator of two other metrics. `cap` winsorises each "
            "visitor's value at `cap_value` (value) or at the `cap_value` percentile."
        ),
        examples=[
            OpenApiExample("Revenue, capped", value=REVENUE_EXAMPLE, request_only=True),
            OpenApiExample(
                "Shoe purchases",
                value={
                    "site": 1,
                    "key": "bought-shoes",
                    "name": "Bought shoes",
                    "kind": "conversion",
                    "event": "purchase",
                    "where": {
                        "all": [{"field": "properties.category", "op": "eq", "value": "shoes"}]
                    },
                    "window_days": 3,
                },
                request_only=True,
            ),
        ],
    ),
    update=extend_schema(summary="Change a metric", request=MetricUpdateSerializer),
    partial_update=extend_schema(summary="Change a metric", request=MetricUpdateSerializer),
    destroy=extend_schema(summary="Delete a metric (not while a ratio uses it)"),
)
class MetricViewSet(SiteScopedViewSetMixin, viewsets.ModelViewSet):
    """Metrics: what reports, experiments and optimisation measure."""

    queryset = Metric.objects.select_related("numerator", "denominator")
    serializer_class = MetricSerializer
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_EXPERIMENTS
    lookup_value_regex = r"\d+"

    def get_serializer_class(self) -> type:
        if self.action in ("update", "partial_update"):
            return MetricUpdateSerializer
        return MetricSerializer

    def perform_create(self, serializer: MetricSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_site_write(data["site"])
        with as_api_errors():
            serializer.instance = metric_create(**data)

    def perform_update(self, serializer: MetricUpdateSerializer) -> None:
        with as_api_errors():
            serializer.instance = metric_update(
                metric=serializer.instance, **serializer.validated_data
            )

    def perform_destroy(self, instance: Metric) -> None:
        with as_api_errors():
            metric_delete(metric=instance)
