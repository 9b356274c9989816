"""The project's 500 handler: the API answers a problem object, the pages an HTML page.

Anything no view handled ends here, including an outage inside a middleware
(the session store's Redis, the database behind a context processor). Both
answers are 503 for a dependency outage and 500 otherwise, carry the
correlation id, and say nothing else about the cause.
"""

import sys

from django.http import HttpRequest, HttpResponse

from opensspr.api.problems import failure_response
from opensspr.core import views as core_views

API_PREFIX = "/api/"


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return failure_response(sys.exc_info()[1])
    return core_views.server_error(request)
