"""The OpenSSPR on-premises agent: reaches the directory for a server that can't.

Installed on its own (no Django), it dials out to the OpenSSPR server over
HTTPS, takes directory jobs (reset, change, unlock, sign-in checks), runs
them against OpenLDAP or Active Directory with the same connectors the server
uses in direct mode, and answers. Nothing on the agent's side listens.
"""

__version__ = "0.1.0"
