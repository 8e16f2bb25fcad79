"""Routes of the content management API; the project mounts them under `/api/v1/`."""

from rest_framework.routers import SimpleRouter

from content.api import views

router = SimpleRouter()
router.register("placements", views.PlacementViewSet)
router.register("placement-variants", views.ContentVariantViewSet)
router.register("screens", views.ScreenViewSet)
router.register("screen-variants", views.ScreenVariantViewSet)
router.register("content-schedules", views.PublishScheduleViewSet)
router.register("content-audit", views.AuditEntryViewSet)
router.register("design-schemas", views.DesignSchemaViewSet)

urlpatterns = router.urls
