from django.contrib import admin
from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("", admin.site.admin_view(views.dashboard), name="dashboard"),
    path("slots/<str:slot>/", admin.site.admin_view(views.slot), name="slot"),
    path("segments/<str:key>/", admin.site.admin_view(views.segment), name="segment"),
]
