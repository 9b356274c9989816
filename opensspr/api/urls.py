"""Routes of the API; the project mounts them at ``api/v1/`` with the namespace ``api``.

Every route here must appear in ``openapi.json`` and nothing else may live under
``/api/`` (tests/api/test_openapi.py holds both).
"""

from django.urls import path

from opensspr.api import resets, schema

app_name = "api"
urlpatterns = [
    path("resets", resets.start, name="resets"),
    path("resets/current", resets.current, name="reset"),
    path("resets/current/operation", resets.operation, name="reset-operation"),
    path("resets/current/verification", resets.verification, name="reset-verification"),
    path(
        "resets/current/verification/answer",
        resets.answer,
        name="reset-verification-answer",
    ),
    path(
        "resets/current/verification/cancel",
        resets.cancel,
        name="reset-verification-cancel",
    ),
    path("resets/current/password", resets.password, name="reset-password"),
    path("openapi.json", schema.openapi_document, name="openapi"),
]
