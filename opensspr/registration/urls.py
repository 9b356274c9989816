"""Security info ("/security-info"); the project's URLconf includes these at the root."""

from django.urls import path

from opensspr.registration import change_views, views

app_name = "registration"
urlpatterns = [
    path("security-info", views.overview_view, name="overview"),
    path("security-info/verify", views.verify_view, name="verify"),
    path("security-info/verify/code", views.verify_code_view, name="verify_code"),
    path("security-info/finish", views.finish_view, name="finish"),
    path("security-info/email", change_views.email_view, name="email"),
    path("security-info/<slug:which>/number", change_views.phone_view, name="phone"),
    path("security-info/confirm", change_views.confirm_view, name="confirm"),
    path("security-info/authenticator-app", change_views.app_view, name="app"),
    path("security-info/security-questions", change_views.questions_view, name="questions"),
    path("security-info/<slug:which>/remove", change_views.remove_view, name="remove"),
]
