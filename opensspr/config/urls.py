from django.urls import include, path

from opensspr.console.site import console_site
from opensspr.core import views as core_views
from opensspr.resets.webhooks import voice_callback

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("console/", console_site.urls),
    path("api/v1/", include("opensspr.api.urls")),
    path("agent/v1/", include("opensspr.agents.urls")),
    path("hooks/voice/<str:provider>/<str:token>", voice_callback, name="voice_callback"),
    path("", include("opensspr.channels.urls")),
    path("", include("opensspr.captcha.urls")),
    path("", include("opensspr.portal.reset_urls")),
    path("", include("opensspr.signin.urls")),
    path("", include("opensspr.registration.urls")),
    path("", include("opensspr.portal.urls")),
]

handler400 = "opensspr.core.views.bad_request"
handler403 = "opensspr.core.views.permission_denied"
handler404 = "opensspr.core.views.page_not_found"
handler500 = "opensspr.config.errors.server_error"
