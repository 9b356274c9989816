"""The project's URLconf as these tests need it: the API mounted as the lead mounts it."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("opensspr.api.urls")),
    path("", include("opensspr.captcha.urls")),
]

handler500 = "opensspr.config.errors.server_error"
