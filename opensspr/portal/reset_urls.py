"""The reset portal's pages; the project's URLconf includes them at the root."""

from django.urls import path

from opensspr.portal import recovery_views, reset_views

app_name = "reset"
urlpatterns = [
    path("reset", reset_views.start_view, name="start"),
    path("reset/flow", reset_views.flow_view, name="flow"),
    path("reset/recovery", recovery_views.recovery_view, name="recovery"),
]
