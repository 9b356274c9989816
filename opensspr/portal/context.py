"""Template context shared by every page."""

from django.http import HttpRequest

from opensspr.accounts.selectors import get_organisation


def site(request: HttpRequest) -> dict[str, object]:
    return {"organisation": get_organisation()}
