"""The project's URLs plus the demo page, as the root urlconf is asked to include it."""

from delivery.urls import demo_urlpatterns
from personalize.urls import urlpatterns as project_urlpatterns

urlpatterns = [*demo_urlpatterns, *project_urlpatterns]
