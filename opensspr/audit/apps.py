from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "opensspr.audit"
    label = "audit"
    verbose_name = "Audit"
