from django.urls import path

from opensspr.portal import brand_views, reset_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("password/change", views.change_password_view, name="change_password"),
    # The reset portal lives in reset_urls.py ("reset:*"); this name stays for old links.
    path("reset", reset_views.start_view, name="reset"),
    path("brand.css", brand_views.brand_css, name="brand_css"),
    path("brand/logo.png", brand_views.brand_logo, name="brand_logo"),
]
