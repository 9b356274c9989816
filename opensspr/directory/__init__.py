"""Directory connectors: where passwords really live.

``connector_for`` imports Django lazily so that the Django-free parts of this
package (``errors``, ``values`` and ``ldap``) load without settings: the
on-premises agent reuses them.
"""

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opensspr.accounts.models import User
    from opensspr.directory.base import DirectoryConnector
    from opensspr.directory.local import LocalDirectory


def connector_for(user: "User") -> "DirectoryConnector":
    """The connector that owns ``user``'s password."""
    from opensspr.accounts.models import UserSource  # noqa: PLC0415 (keeps the package importable without Django; the agent reuses it)
    from opensspr.directory.onprem import for_settings, settings_row  # noqa: PLC0415 (as above)

    if user.source == UserSource.CLOUD:
        return _local()
    # Synced: the directory configured in the console, reached directly (direct mode).
    return for_settings(settings_row())


@cache
def _local() -> "LocalDirectory":
    from opensspr.directory.local import LocalDirectory  # noqa: PLC0415 (as above)

    return LocalDirectory()
