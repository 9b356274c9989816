from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opensspr.accounts"
    label = "accounts"
    verbose_name = "Directory"
