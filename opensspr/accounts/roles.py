"""Administrator roles and what each may do in the console.

Holding any role makes a user an administrator for the SSPR policy (strict
two-gate reset, reference §3). Console permissions are derived from roles here,
in one table, instead of Django's per-user permission rows: the directory, not
the console, decides who is an administrator.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdminRole(models.TextChoices):
    GLOBAL = "global_admin", _("Global administrator")
    PRIVILEGED_AUTHENTICATION = (
        "privileged_authentication_admin",
        _("Privileged authentication administrator"),
    )
    AUTHENTICATION = "authentication_admin", _("Authentication administrator")
    PASSWORD = "password_admin", _("Password administrator")
    HELPDESK = "helpdesk_admin", _("Helpdesk administrator")
    USER = "user_admin", _("User administrator")
    SECURITY = "security_admin", _("Security administrator")


#: Clear what a person registered for self-service reset (apps, answers, proofs).
#: As in the reference, managing authentication methods belongs to the
#: authentication administrators; password, helpdesk and user administrators
#: reset passwords and edit users but don't wipe what a person registered.
#: Targets that are administrators still need a global administrator
#: (``accounts.selectors.can_manage_user``).
MANAGE_SECURITY_INFO = "manage_security_info"

_ALL = {"view", "add", "change", "delete"}
_VIEW = {"view"}
#: Work a queue or a setting: read and change, never add or delete rows.
_WORK = {"view", "change"}

# role -> {app_label.model or app_label: actions}
ROLE_PERMISSIONS: dict[AdminRole, dict[str, set[str]]] = {
    AdminRole.GLOBAL: {"*": _ALL | {MANAGE_SECURITY_INFO}},
    AdminRole.PRIVILEGED_AUTHENTICATION: {
        "accounts": _ALL,
        "accounts.user": {MANAGE_SECURITY_INFO},
        "policy": _ALL,
        "audit": _VIEW,
        "resets.recoveryrequest": _WORK,
        "registration.accesspasspolicy": _WORK,
        "registration.registrationcampaign": _WORK,
    },
    AdminRole.AUTHENTICATION: {
        "accounts.user": {"view", "change", MANAGE_SECURITY_INFO},
        "audit": _VIEW,
        "resets.recoveryrequest": _WORK,
        "registration.accesspasspolicy": _WORK,
        "registration.registrationcampaign": _WORK,
    },
    AdminRole.SECURITY: {
        "policy": _ALL,
        "channels": _ALL,
        "accounts": _VIEW,
        "audit": _VIEW,
        "registration.accesspasspolicy": _VIEW,
        "registration.registrationcampaign": _WORK,
    },
    AdminRole.USER: {"accounts": _ALL, "audit": _VIEW, "resets.recoveryrequest": _WORK},
    AdminRole.PASSWORD: {"accounts.user": {"view", "change"}, "resets.recoveryrequest": _WORK},
    AdminRole.HELPDESK: {"accounts.user": {"view", "change"}, "resets.recoveryrequest": _WORK},
}


def role_allows(roles: set[str], app_label: str, model: str | None, action: str) -> bool:
    for role in roles:
        grants = ROLE_PERMISSIONS.get(AdminRole(role), {})
        for scope in ("*", app_label, f"{app_label}.{model}" if model else None):
            if scope and action in grants.get(scope, set()):
                return True
    return False


def roles_may_manage_security_info(roles: set[str]) -> bool:
    """Whether ``roles`` include one that may clear people's registrations."""
    return role_allows(roles, "accounts", "user", MANAGE_SECURITY_INFO)


def role_touches_app(roles: set[str], app_label: str) -> bool:
    """Whether any role grants anything in ``app_label`` (shows the app in the console)."""
    for role in roles:
        for scope in ROLE_PERMISSIONS.get(AdminRole(role), {}):
            if scope == "*" or scope.split(".", 1)[0] == app_label:
                return True
    return False
