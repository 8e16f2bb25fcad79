from rest_framework.routers import SimpleRouter

from experiments.api.optimization import OptimizationViewSet
from experiments.api.views import ExperimentViewSet, HoldoutViewSet, LayerViewSet

router = SimpleRouter()
router.register("experiments", ExperimentViewSet, basename="experiment")
router.register("layers", LayerViewSet, basename="layer")
router.register("holdout", HoldoutViewSet, basename="holdout")
router.register("optimizations", OptimizationViewSet, basename="optimization")
urlpatterns = router.urls
