from django.urls import path

from opensspr.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("password/change", views.change_password_view, name="change_password"),
    path("reset", views.reset_placeholder_view, name="reset"),
]
