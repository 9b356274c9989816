"""“I have none of these”: from the reset portal into the helpdesk's recovery queue.

A page of its own beside the flow (``reset_views``): the flow's handle stays in
the session, and what the person sees is the same for every user ID: the
explanation, then a reference to quote (``resets.recovery.request_recovery``
answers alike whoever it is, attack A1).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from opensspr.core.request_meta import request_meta
from opensspr.portal.reset_pages import SEQ_KEY, SESSION_KEY, TYPED_KEY
from opensspr.resets.flow import FlowError
from opensspr.resets.helpdesk import get_helpdesk_link
from opensspr.resets.recovery import request_recovery


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "helpdesk": get_helpdesk_link(),
        "has_flow": True,
        "typed_id": request.session.get(TYPED_KEY, ""),
        "flow_seq": request.session.get(SEQ_KEY, 0),
        **extra,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def recovery_view(request: HttpRequest) -> HttpResponse:
    handle = request.session.get(SESSION_KEY)
    if not isinstance(handle, str) or not handle:
        return redirect("reset:start")
    if request.method == "GET":
        return render(request, "reset/recovery.html", _context(request))
    if request.POST.get("flow_seq", "") != str(request.session.get(SEQ_KEY, 0)):
        return redirect("reset:flow")  # a page of an earlier flow: nothing is asked
    try:
        reference = request_recovery(handle=handle, meta=request_meta(request))
    except FlowError:
        return redirect("reset:flow")  # the flow page says it has ended
    return render(request, "reset/recovery_sent.html", _context(request, reference=reference))
