from django.urls import path

from opensspr.captcha import views

app_name = "captcha"
urlpatterns = [
    path("captcha/challenge", views.challenge_view, name="challenge"),
]
