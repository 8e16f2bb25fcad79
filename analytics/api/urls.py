from rest_framework.routers import SimpleRouter

from analytics.api.views import MetricViewSet

router = SimpleRouter()
router.register("metrics", MetricViewSet, basename="metric")
urlpatterns = router.urls
