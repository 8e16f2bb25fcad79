"""Benchmark urlconf: the project's URLs plus `/bench/bare`, a bare Django JsonResponse view.

The delivery routes are tried first, as recommended for personalize/urls.py: the hot
endpoints should not be resolved after every management-API router pattern.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from personalize.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """The floor: Django's request/response cycle with a small JSON answer, nothing else."""
    return JsonResponse({"visitor_id": "anon", "placements": {}, "screens": {}})


urlpatterns = [
    path("bench/bare", bare),
    path("api/v1/", include("delivery.urls")),
    *project_urlpatterns,
]
