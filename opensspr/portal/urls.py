from django.urls import path

from opensspr.portal import reset_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("password/change", views.change_password_view, name="change_password"),
    # The reset portal lives in reset_urls.py ("reset:*"); this name stays for old links.
    path("reset", reset_views.start_view, name="reset"),
]
