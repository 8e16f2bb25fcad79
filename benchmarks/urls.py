"""Benchmark urlconf: the project's URLs plus two floors served by Django.

- `/bench/bare`: a bare Django JsonResponse view (the full middleware stack, nothing else);
- `/bench/precomputed`: the bytes of a real decide answer for the benchmark body, computed
  once: what shipping the same answer costs without deciding it.

The delivery routes are tried first, as recommended for personalize/urls.py: the hot
endpoints should not be resolved after every management-API router pattern.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from personalize.urls import urlpatterns as project_urlpatterns

_precomputed: dict[str, bytes] = {}


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """The floor: Django's request/response cycle with a small JSON answer, nothing else."""
    return JsonResponse({"visitor_id": "anon", "placements": {}, "screens": {}})


@csrf_exempt
def precomputed(request: HttpRequest) -> HttpResponse:
    """A decide answer computed on the first request and served as is afterwards."""
    body = _precomputed.get("answer")
    if body is None:
        import json

        from delivery.services import decide_for_visitor
        from delivery.validation import validate_decide
        from tenancy.models import Site

        site = Site.objects.get(slug="bench-delivery")
        data = validate_decide(json.loads(request.body))
        decision = decide_for_visitor(site_id=site.pk, data=data, caller="public")
        body = _precomputed["answer"] = decision.json()
    return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("bench/bare", bare),
    path("bench/precomputed", precomputed),
    path("api/v1/", include("delivery.urls")),
    *project_urlpatterns,
]
