"""Everything the console shows, registered on ``console_site`` when Django's admin
autodiscovery imports this package (``opensspr.console`` is an installed app).

One module per domain. The console is an entry point like the portal and the API: it
may import any domain's services and selectors, and no domain imports it back, so the
domain apps stay usable without the console (import-linter contracts in pyproject.toml).
"""

from opensspr.console.admin import (
    accounts,
    agents,
    audit,
    channels,
    directory,
    insights,
    organisation,
    policy,
    recovery,
    reports,
)

__all__ = [
    "accounts",
    "agents",
    "audit",
    "channels",
    "directory",
    "insights",
    "organisation",
    "policy",
    "recovery",
    "reports",
]
