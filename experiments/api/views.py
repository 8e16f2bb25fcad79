"""Management API of experiments, layers and the global holdout: site-scoped and role-checked
like the other apps (every role reads; marketers and site admins write). Setup errors are
400s whose `fields` carry the paths the services report (`arms[1].weight`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from experiments.api.results import report_json
from experiments.api.serializers import (
    ExperimentSerializer,
    ExperimentUpdateSerializer,
    HoldoutSerializer,
    LayerSerializer,
    LayerUpdateSerializer,
    PlanSerializer,
    StopSerializer,
    WeightsSerializer,
)
from experiments.models import Experiment, Layer
from experiments.selectors.experiments import holdout_for_site
from experiments.selectors.planning import experiment_plan
from experiments.selectors.results import experiment_report
from experiments.services.experiments import (
    experiment_change_weights,
    experiment_create,
    experiment_delete,
    experiment_pause,
    experiment_resume,
    experiment_start,
    experiment_stop,
    experiment_update,
)
from experiments.services.holdout import holdout_set
from experiments.services.layers import layer_create, layer_delete, layer_update
from segments.api.views import as_api_errors  # Django validation errors into the envelope
from tenancy.api.scoping import SiteScopedViewSetMixin
from tenancy.models import Site
from tenancy.roles import Perm
from tenancy.selectors import sites_for_user, user_has_site_perm

EXPERIMENT_EXAMPLE = {
    "site": 1,
    "key": "hero-copy",
    "name": "Hero copy",
    "hypothesis": "A shorter headline gets more sign-ups.",
    "placement": 3,
    "coverage": 0.5,
    "arms": [
        {"key": "control", "is_control": True, "weight": 1},
        {"key": "short", "content_variant": 12, "weight": 1},
    ],
    "metrics": [{"metric": 2, "role": "primary"}],
}


def _specs(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    return None if rows is None else [dict(row) for row in rows]


@extend_schema_view(
    list=extend_schema(summary="List your sites' experiments"),
    retrieve=extend_schema(summary="An experiment, with its arms, metrics and phases"),
    create=extend_schema(
        summary="Set up an experiment (a draft)",
        description="Exactly one of `placement` and `screen`. Each arm serves a variant of "
        "that slot (`content_variant` for a placement, `design_variant` for a screen) or is "
        "the control (normal personalization). Experiments of one `layer` take disjoint "
        "slices `[layer_start, layer_end)` and never share a visitor.",
        examples=[OpenApiExample("Two arms", value=EXPERIMENT_EXAMPLE, request_only=True)],
    ),
    update=extend_schema(summary="Change an experiment", request=ExperimentUpdateSerializer),
    partial_update=extend_schema(
        summary="Change an experiment",
        description="A coverage change keeps the phase; a weight change of a live experiment "
        "starts a new phase unless `keep_phase`.",
        request=ExperimentUpdateSerializer,
    ),
    destroy=extend_schema(summary="Delete an experiment (not while running)"),
)
class ExperimentViewSet(SiteScopedViewSetMixin, viewsets.ModelViewSet):
    """A/B/n tests and bandits on a placement or a screen."""

    queryset = Experiment.objects.select_related(
        "placement", "screen", "audience", "layer"
    ).prefetch_related("arms", "metrics", "phases")
    serializer_class = ExperimentSerializer
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_EXPERIMENTS
    lookup_value_regex = r"\d+"

    def get_serializer_class(self) -> type:
        if self.action in ("update", "partial_update"):
            return ExperimentUpdateSerializer
        return ExperimentSerializer

    def perform_create(self, serializer: ExperimentSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_site_write(data["site"])
        arms, metrics = _specs(data.pop("arms")), _specs(data.pop("metrics", []))
        with as_api_errors():
            serializer.instance = experiment_create(
                arms=arms, metrics=metrics, user=self.request.user, **data
            )

    def perform_update(self, serializer: ExperimentUpdateSerializer) -> None:
        data = dict(serializer.validated_data)
        arms, metrics = _specs(data.pop("arms", None)), _specs(data.pop("metrics", None))
        keep_phase = data.pop("keep_phase", False)
        with as_api_errors():
            serializer.instance = experiment_update(
                experiment=serializer.instance,
                data=data,
                arms=arms,
                metrics=metrics,
                keep_phase=keep_phase,
                user=self.request.user,
            )

    def perform_destroy(self, instance: Experiment) -> None:
        with as_api_errors():
            experiment_delete(experiment=instance, user=self.request.user)

    def _fresh(self, experiment: Experiment) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=experiment.pk)).data)

    def _lifecycle(self, service: Any, **kwargs: Any) -> Response:
        experiment = self.get_object()
        with as_api_errors():
            service(experiment=experiment, user=self.request.user, **kwargs)
        return self._fresh(experiment)

    @extend_schema(summary="Start a draft (phase 1 opens)", request=None)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(experiment_start)

    @extend_schema(summary="Pause (visitors get normal personalization)", request=None)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(experiment_pause)

    @extend_schema(summary="Resume a paused experiment in the same phase", request=None)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._lifecycle(experiment_resume)

    @extend_schema(
        summary="Stop, optionally publishing the winner as the slot's default",
        request=StopSerializer,
    )
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        body = StopSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._lifecycle(experiment_stop, winner=body.validated_data.get("winner") or None)

    @extend_schema(
        summary="Change the arms' weights (a new phase unless keep_phase)",
        request=WeightsSerializer,
    )
    @action(detail=True, methods=["post"])
    def weights(self, request: Request, pk: str | None = None) -> Response:
        body = WeightsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._lifecycle(
            experiment_change_weights,
            weights=body.validated_data["weights"],
            keep_phase=body.validated_data["keep_phase"],
        )

    @extend_schema(
        summary="Results of a phase (JSON), from the experiment's rollups",
        description="Per arm x metric: means, the effect with its interval (the analysis "
        "method's: a confidence sequence when sequential), p-values before and after the "
        "multiple-comparison correction, chance to win; the sample-ratio check (while it "
        "fires `analysis.hidden` is true and `analysis.cells` is empty); the guidance; "
        "daily cumulative effects of the primary metric and daily allocation; units left "
        "out for being seen in two arms (`excluded_units`). Every role of the site reads it.",
        parameters=[
            OpenApiParameter(
                "phase",
                int,
                description="The phase (default: the current one).",
                required=False,
            )
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The results report."),
            400: OpenApiResponse(description="`phase` is not one of the experiment's phases."),
        },
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None) -> Response:
        experiment = self.get_object()
        raw = request.query_params.get("phase")
        phase: int | None = None
        if raw not in (None, ""):
            if not raw.isdigit() or not experiment.phases.filter(number=int(raw)).exists():
                raise serializers.ValidationError(
                    {"phase": [f"Choose one of the experiment's phases (1 to {experiment.phase})."]}
                )
            phase = int(raw)
        return Response(report_json(experiment_report(experiment=experiment, phase=phase)))

    @extend_schema(
        summary="Planning: minimum detectable effect and expected duration",
        description="From the last 28 days of the slot's analytics rollups (stated defaults "
        "and a note when there are none): the primary metric's baseline, the units entering "
        "the experiment a day (after audience, coverage and layer slice) and per arm, the "
        "smallest relative lift detected with 80 % power after 14 and 28 days, and the days "
        "needed for a +5 % and a +10 % lift, under the experiment's method (bayesian: as a "
        "fixed-horizon test). Every role of the site reads it.",
        responses={200: PlanSerializer},
    )
    @action(detail=True, methods=["get"])
    def plan(self, request: Request, pk: str | None = None) -> Response:
        experiment = self.get_object()
        return Response(PlanSerializer(experiment_plan(experiment=experiment)).data)


@extend_schema_view(
    list=extend_schema(summary="List your sites' layers"),
    retrieve=extend_schema(summary="A layer"),
    create=extend_schema(summary="Add a layer (mutually exclusive experiments)"),
    update=extend_schema(summary="Change a layer", request=LayerUpdateSerializer),
    partial_update=extend_schema(summary="Change a layer", request=LayerUpdateSerializer),
    destroy=extend_schema(summary="Delete a layer no experiment uses"),
)
class LayerViewSet(SiteScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = Layer.objects.all()
    serializer_class = LayerSerializer
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_EXPERIMENTS
    lookup_value_regex = r"\d+"

    def get_serializer_class(self) -> type:
        if self.action in ("update", "partial_update"):
            return LayerUpdateSerializer
        return LayerSerializer

    def perform_create(self, serializer: LayerSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_site_write(data["site"])
        with as_api_errors():
            serializer.instance = layer_create(**data)

    def perform_update(self, serializer: LayerUpdateSerializer) -> None:
        with as_api_errors():
            serializer.instance = layer_update(
                layer=serializer.instance, data=dict(serializer.validated_data)
            )

    def perform_destroy(self, instance: Layer) -> None:
        with as_api_errors():
            layer_delete(layer=instance)


@extend_schema_view(
    list=extend_schema(summary="The global holdout of each of your sites"),
    retrieve=extend_schema(summary="A site's global holdout (by site id)"),
    update=extend_schema(summary="Set a site's global holdout"),
    partial_update=extend_schema(summary="Change a site's global holdout"),
)
class HoldoutViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """One per site, addressed by the site's id: visitors below `share` of the holdout's hash
    always get the defaults and take part in no experiment."""

    serializer_class = HoldoutSerializer
    lookup_field = "site"
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return sites_for_user(self.request.user, Perm.VIEW).order_by("pk")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        data = self.get_serializer([holdout_for_site(site=site) for site in page], many=True).data
        return self.get_paginated_response(data)

    def get_object(self) -> Any:
        site: Site = get_object_or_404(self.get_queryset(), pk=self.kwargs["site"])
        return holdout_for_site(site=site)

    def perform_update(self, serializer: HoldoutSerializer) -> None:
        holdout = serializer.instance
        if not user_has_site_perm(self.request.user, Perm.MANAGE_EXPERIMENTS, holdout.site_id):
            raise PermissionDenied("You may not change this site's data.")
        data = serializer.validated_data
        with as_api_errors():
            serializer.instance = holdout_set(
                site=holdout.site,
                enabled=data.get("enabled", holdout.enabled),
                share=data.get("share", holdout.share),
                seed=data.get("seed"),
            )
