"""Template context shared by every page."""

from django.http import HttpRequest

from opensspr.accounts.selectors import get_organisation


def site(request: HttpRequest) -> dict[str, object]:
    organisation = get_organisation()
    # The brand's URLs change with the organisation, so a browser's copy is never stale.
    version = int(organisation.updated_at.timestamp()) if organisation.updated_at else 0
    return {"organisation": organisation, "brand_version": version}
