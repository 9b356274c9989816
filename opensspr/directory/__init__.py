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
    from opensspr.directory.errors import DirectoryUnavailableError  # noqa: PLC0415 (as above)

    if user.source == UserSource.CLOUD:
        return _local()
    # On-premises connectors (LDAP/AD writeback) arrive with the writeback issue.
    raise DirectoryUnavailableError("no on-premises connector is configured")


@cache
def _local() -> "LocalDirectory":
    from opensspr.directory.local import LocalDirectory  # noqa: PLC0415 (as above)

    return LocalDirectory()
