"""LDAP directory connectors: OpenLDAP with ppolicy, and Active Directory.

No Django imports anywhere in this package: the on-premises agent reuses it.
Connectors work on DNs found by ``find_user`` (exactly one match, escaped
filter) and raise the typed errors of ``opensspr.directory.errors``.

Import from the modules, not from here: the package itself loads nothing, so a
server without a directory (the settings' model imports ``config``) never
loads ldap3 and pyasn1 (about 13 MB a process).
"""
