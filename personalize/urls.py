from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from delivery.urls import demo_urlpatterns
from personalize import health

urlpatterns = [
    path("healthz/", health.healthz, name="healthz"),
    path("readyz/", health.readyz, name="readyz"),
    path("admin/reports/", include("analytics.urls")),  # analytics' dashboard and reports
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL: Swagger UI works under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Delivery first: decide and events are the hot path, matched before management routes.
    path("api/v1/", include("delivery.urls")),
    path("api/v1/", include("tenancy.api.urls")),
    path("api/v1/", include("segments.api.urls")),
    path("api/v1/", include("content.api.urls")),
    path("api/v1/", include("analytics.api.urls")),
    path("api/v1/", include("experiments.api.urls")),
    *demo_urlpatterns,
]

# JSON error envelopes under /api/ (Django's pages elsewhere).
handler404 = "tenancy.api.errors.page_not_found"
handler500 = "tenancy.api.errors.server_error"
