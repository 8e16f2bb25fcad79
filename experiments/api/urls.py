from rest_framework.routers import SimpleRouter

from experiments.api.views import ExperimentViewSet, HoldoutViewSet, LayerViewSet

router = SimpleRouter()
router.register("experiments", ExperimentViewSet, basename="experiment")
router.register("layers", LayerViewSet, basename="layer")
router.register("holdout", HoldoutViewSet, basename="holdout")
urlpatterns = router.urls
