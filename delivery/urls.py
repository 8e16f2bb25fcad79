"""Delivery API routes (included at `api/v1/`) and the demo page (`demo_urlpatterns`, at root)."""

from django.urls import path

from delivery import demo, views

urlpatterns = [
    path("decide", views.DecideView.as_view(), name="delivery-decide"),
    path("events", views.EventsView.as_view(), name="delivery-events"),
    path("profiles/<str:user_id>", views.ProfileView.as_view(), name="delivery-profile"),
    # The same endpoints with a trailing slash (kept out of the schema).
    path("decide/", views.DecideView.as_view(schema=None)),
    path("events/", views.EventsView.as_view(schema=None)),
    path("profiles/<str:user_id>/", views.ProfileView.as_view(schema=None)),
]

demo_urlpatterns = [
    path("demo/", demo.demo_page, name="personalize-demo"),
]
