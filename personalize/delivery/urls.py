"""Delivery API routes (included at `api/v1/`) and the demo page (`demo_urlpatterns`, at root)."""

from django.urls import path, re_path

import personalize.cors  # noqa: F401  (connects the per-site CORS signal receivers)
from personalize.delivery import demo, views

urlpatterns = [
    re_path(r"^decide/?$", views.DecideView.as_view(), name="delivery-decide"),
    re_path(r"^events/?$", views.EventsView.as_view(), name="delivery-events"),
    re_path(
        r"^profiles/(?P<user_id>[^/]+)/?$", views.ProfileView.as_view(), name="delivery-profile"
    ),
]

demo_urlpatterns = [
    path("demo/", demo.demo_page, name="personalize-demo"),
]
