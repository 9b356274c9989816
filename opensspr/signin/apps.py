from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "opensspr.signin"
    label = "signin"
    verbose_name = "Sign-in"
