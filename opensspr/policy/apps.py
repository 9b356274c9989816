from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "opensspr.policy"
    label = "policy"
    verbose_name = "Policy"
