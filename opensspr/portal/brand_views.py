"""The organisation's look on every page: its colour as a style sheet, its logo as a PNG.

Both are public (the reset portal shows them before anyone signs in) and carry
nothing but what an administrator chose to show. Their URLs hold a version (the
organisation's last change), so browsers may keep them a day and still see a new
colour or logo at once.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from opensspr.accounts.branding import darker
from opensspr.accounts.selectors import get_organisation

_CACHE = "public, max-age=86400"


@require_GET
def brand_css(request: HttpRequest) -> HttpResponse:
    """The portal's accent in the organisation's colour (empty: the default stays)."""
    colour = get_organisation().brand_colour
    body = (
        f":root {{ --os-accent: {colour}; --os-accent-strong: {darker(colour)}; }}\n"
        if colour
        else ""
    )
    response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = _CACHE
    return response


@require_GET
def brand_logo(request: HttpRequest) -> HttpResponse:
    logo = get_organisation().logo_png
    if not logo:
        raise Http404
    response = HttpResponse(bytes(logo), content_type="image/png")
    response["Cache-Control"] = _CACHE
    response["Content-Disposition"] = 'inline; filename="logo.png"'
    return response
