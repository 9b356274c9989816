"""Who may do what to whom at the helpdesk: the one rule every helpdesk action asks.

Reference §3 and the Entra table of "who can reset passwords", with one rule on
top: **a lower role never acts on a higher one**. An actor may act on a person
only when every administrator role the person holds is one the actor's roles
reach (``REACHES``); a person without a role is reached by every helpdesk role.
Nobody acts on themselves through the helpdesk: a temporary access pass or a
temporary password issued to oneself would walk round one's own verification.

Deliberate differences from Entra: the privileged authentication administrator
doesn't reach global administrators (Entra lets it; "lower never acts on higher"
wins here), and the security administrator does no helpdesk work at all (as in
Entra, it resets nobody's password).

Pure: reads the actor's and target's roles, writes nothing.
"""

from enum import StrEnum

from opensspr.accounts.models import User
from opensspr.accounts.roles import AdminRole


class HelpdeskAction(StrEnum):
    TEMPORARY_PASSWORD = "temporary_password"  # noqa: S105 (an action's name)
    ACCESS_PASS = "access_pass"  # noqa: S105 (an action's name)
    UNLOCK = "unlock"
    LIFT_BLOCK = "lift_block"
    VIEW_ACTIVITY = "view_activity"
    WORK_RECOVERY = "work_recovery"


_EVERY_ROLE = frozenset(AdminRole)

#: The administrator roles each role may act on (besides people with no role).
REACHES: dict[AdminRole, frozenset[AdminRole]] = {
    AdminRole.GLOBAL: _EVERY_ROLE,
    AdminRole.PRIVILEGED_AUTHENTICATION: _EVERY_ROLE - {AdminRole.GLOBAL},
    AdminRole.AUTHENTICATION: frozenset(
        {AdminRole.AUTHENTICATION, AdminRole.PASSWORD, AdminRole.HELPDESK}
    ),
    AdminRole.USER: frozenset({AdminRole.USER, AdminRole.PASSWORD, AdminRole.HELPDESK}),
    AdminRole.HELPDESK: frozenset({AdminRole.HELPDESK, AdminRole.PASSWORD}),
    AdminRole.PASSWORD: frozenset({AdminRole.PASSWORD}),
    AdminRole.SECURITY: frozenset(),
}

#: The roles that do helpdesk work at all; every action is open to each of them.
HELPDESK_ROLES = frozenset(
    {
        AdminRole.GLOBAL,
        AdminRole.PRIVILEGED_AUTHENTICATION,
        AdminRole.AUTHENTICATION,
        AdminRole.USER,
        AdminRole.HELPDESK,
        AdminRole.PASSWORD,
    }
)


def is_helpdesk(actor: User) -> bool:
    """Whether ``actor`` holds a role that does helpdesk work (and may sign in to the console)."""
    return actor.is_staff and bool({AdminRole(r) for r in actor.admin_roles} & HELPDESK_ROLES)


def roles_reach(actor_roles: set[str], target_roles: set[str]) -> bool:
    """Whether the actor's roles together reach every role of the target (none: always)."""
    held = {AdminRole(r) for r in actor_roles} & HELPDESK_ROLES
    if not held:
        return False
    reached: set[AdminRole] = set().union(*(REACHES[r] for r in held))
    return {AdminRole(r) for r in target_roles} <= reached


def may_act(actor: User, target: User, action: HelpdeskAction) -> bool:
    """May ``actor`` take ``action`` on ``target``? Every helpdesk action asks this.

    Never on oneself, never by a disabled or role-less account, never on a
    person holding a role the actor's roles don't reach. Viewing activity is
    under the same rule: what a higher administrator did is not a lower one's
    to read person by person (the audit log stays for those whose role sees it).
    """
    del action  # every helpdesk action follows the same reach today; named for the audit
    if actor.pk == target.pk or not is_helpdesk(actor):
        return False
    return roles_reach(actor.admin_roles, target.admin_roles)
