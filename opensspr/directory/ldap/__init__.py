"""LDAP directory connectors: OpenLDAP with ppolicy, and Active Directory.

No Django imports anywhere in this package: the on-premises agent reuses it.
Connectors work on DNs found by ``find_user`` (exactly one match, escaped
filter) and raise the typed errors of ``opensspr.directory.errors``.
"""

from opensspr.directory.ldap.active_directory import ActiveDirectory, ad_config
from opensspr.directory.ldap.config import LdapConfig, TlsMode
from opensspr.directory.ldap.openldap import OpenLdapDirectory

__all__ = ["ActiveDirectory", "LdapConfig", "OpenLdapDirectory", "TlsMode", "ad_config"]
