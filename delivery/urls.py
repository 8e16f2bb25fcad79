"""Delivery's routes: it owns the delivery API's URLs (decide, events, profiles; included
at `api/v1/`, each also with a trailing slash) and the demo page's (`demo_urlpatterns`,
included at the root)."""

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
