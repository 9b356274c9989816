from django.urls import path

from opensspr.signin import access_pass_views, views

app_name = "signin"
urlpatterns = [
    path("signin", views.signin_view, name="signin"),
    path("signin/access-pass", access_pass_views.access_pass_view, name="access_pass"),
    path("signin/update-password", views.change_required_view, name="change_required"),
    path("signout", views.signout_view, name="signout"),
]
