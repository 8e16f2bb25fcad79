from django.urls import path
from rest_framework.routers import SimpleRouter

from segments.api.views import (
    FieldViewSet,
    SegmentAudienceSlashView,
    SegmentAudienceView,
    SegmentJobViewSet,
    SegmentPreviewSlashView,
    SegmentPreviewView,
    SegmentViewSet,
)

router = SimpleRouter()
router.register("fields", FieldViewSet, basename="field")
router.register("segments", SegmentViewSet, basename="segment")
router.register("segment-jobs", SegmentJobViewSet, basename="segment-job")

# Before the router, so `segments/preview` is never read as a segment id.
urlpatterns = [
    path("segments/preview", SegmentPreviewView.as_view(), name="segment-preview"),
    path("segments/preview/", SegmentPreviewSlashView.as_view(), name="segment-preview-slash"),
    path("segments/audience", SegmentAudienceView.as_view(), name="segment-audience"),
    path("segments/audience/", SegmentAudienceSlashView.as_view(), name="segment-audience-slash"),
    *router.urls,
]
