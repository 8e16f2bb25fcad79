from django.urls import path
from rest_framework.routers import SimpleRouter

from tenancy.api.views import ApiKeyViewSet, SiteRoleViewSet, SiteViewSet, whoami

router = SimpleRouter()
router.register("sites", SiteViewSet)
router.register("api-keys", ApiKeyViewSet)
router.register("roles", SiteRoleViewSet)

urlpatterns = [path("whoami", whoami, name="whoami"), *router.urls]
