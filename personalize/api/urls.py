from rest_framework.routers import SimpleRouter

from personalize.api.views import ApiKeyViewSet, SiteRoleViewSet, SiteViewSet

router = SimpleRouter()
router.register("sites", SiteViewSet)
router.register("api-keys", ApiKeyViewSet)
router.register("roles", SiteRoleViewSet)

urlpatterns = router.urls
