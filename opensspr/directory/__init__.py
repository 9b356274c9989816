"""Directory connectors: where passwords really live."""

from opensspr.accounts.models import User, UserSource
from opensspr.directory.base import DirectoryConnector, DirectoryUnavailableError
from opensspr.directory.local import LocalDirectory

_local = LocalDirectory()


def connector_for(user: User) -> DirectoryConnector:
    """The connector that owns ``user``'s password."""
    if user.source == UserSource.CLOUD:
        return _local
    # On-premises connectors (LDAP/AD writeback) arrive with the writeback issue.
    raise DirectoryUnavailableError("no on-premises connector is configured")
