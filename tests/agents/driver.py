"""Runs inside ``opensspr shell`` against the same data as the served site.

The agent tests drive a real ``opensspr serve`` and real agent processes; what
a person or an administrator does is done here, in a third process, through
the same services the portal and the console call. ``serve`` answers commands
read from stdin, one JSON line each, so each costs no process start.
"""

import json
import re
import sys
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connection

from opensspr.accounts.models import RoleAssignment, User
from opensspr.accounts.roles import AdminRole
from opensspr.accounts.services import UserData, create_user
from opensspr.agents import services, status
from opensspr.agents.models import Agent, AgentJob
from opensspr.channels import deliver_due, list_outbox
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import writeback
from opensspr.directory.errors import DirectoryError
from opensspr.directory.models import DirectorySettings, WritebackIntent
from opensspr.directory.sync import run_sync
from opensspr.policy.kinds import MethodKind
from opensspr.resets.admin_reset import issue_temporary_password
from opensspr.resets.flow import (
    FlowError,
    PasswordRejectedError,
    begin_verification,
    choose_operation,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import Operation
from opensspr.signin.change import change_password
from opensspr.signin.services import sign_in
from tests.conftest import open_reset_policy

META = RequestMeta("192.0.2.10", "agent-test", "agent-test")


def setup(args: dict[str, Any]) -> Any:
    DirectorySettings.objects.update_or_create(
        pk=1,
        defaults={
            "transport": "agent",
            "kind": "openldap",
            "base_dn": args["base_dn"],
            "user_id_attribute": "uid",
            "user_id_suffix": "example.org",
            "user_ous": args.get("user_ous", ""),
        },
    )
    open_reset_policy(writeback_enabled=True)
    admin = create_user(
        data=UserData("admin@example.org", "Admin"), meta=META, password="Admin-Pass-word-77"
    )
    RoleAssignment.objects.create(user=admin, role=AdminRole.GLOBAL)
    return {"ok": True}


def person(args: dict[str, Any]) -> Any:
    user = create_user(
        data=UserData(args["user_id"], args["user_id"], auth_email=args["email"]),
        meta=META,
        password=None,
    )
    User.objects.filter(pk=user.pk).update(source="synced", on_premises_dn=args["dn"])
    return {"ok": True}


def token(args: dict[str, Any]) -> Any:
    return {"token": services.create_agent(name=args["name"], actor=None, meta=META).token}


def signin(args: dict[str, Any]) -> Any:
    results = []
    for _ in range(int(args.get("times", 1))):
        result = sign_in(identifier=args["user_id"], password=args["password"], meta=META)
        results.append(str(result.outcome))
    return {"outcomes": results}


def _code(email: str) -> str:
    deliver_due()
    body = list_outbox(recipient=email).order_by("-id").first().plaintext_body()
    return re.search(r"\b(\d{6,8})\b", body).group(1)


def flow(args: dict[str, Any]) -> Any:
    """A whole self-service reset or unlock, as the portal drives it."""
    user = User.objects.get(user_id=args["user_id"])
    operation = Operation(args.get("operation", "reset"))
    try:
        view = start_flow(identifier=user.user_id, meta=META)
        view = choose_operation(handle=view.handle, operation=operation, meta=META)
        view = begin_verification(
            handle=view.handle, kind=MethodKind.EMAIL, contact=user.auth_email, meta=META
        )
        view = submit_verification(handle=view.handle, answer=_code(user.auth_email), meta=META)
        if operation == Operation.RESET:
            view = set_new_password(handle=view.handle, new_password=args["new"], meta=META)
    except PasswordRejectedError as exc:
        return {
            "state": "rejected",
            "code": str(exc.code),
            "rules": [str(f.code) for f in exc.failures],
        }
    except FlowError as exc:
        return {"state": "error", "code": str(exc.code)}
    return {"state": str(view.state)}


def change(args: dict[str, Any]) -> Any:
    user = User.objects.get(user_id=args["user_id"])
    result = change_password(
        user=user, current_password=args["old"], new_password=args["new"], meta=META
    )
    return {"outcome": str(result.outcome), "directory": result.directory_reason}


def temporary(args: dict[str, Any]) -> Any:
    admin = User.objects.get(user_id="admin@example.org")
    user = User.objects.get(user_id=args["user_id"])
    try:
        password = issue_temporary_password(actor=admin, user=user, meta=META)
    except DirectoryError as exc:
        return {"error": str(exc.code)}
    intents = list(WritebackIntent.objects.filter(user=user).values_list("state", flat=True))
    return {"password": password, "intents": intents}


def writes(args: dict[str, Any]) -> Any:
    """The person's writeback intents: state and the server each is pinned to."""
    user = User.objects.get(user_id=args["user_id"])
    return {
        "intents": [
            [state, server]
            for state, server in WritebackIntent.objects.filter(user=user).values_list(
                "state", "server"
            )
        ]
    }


def reconcile(args: dict[str, Any]) -> Any:
    """The worker's reconciler, ``later`` seconds from now (past the grace, say)."""
    now = clock.now() + timedelta(seconds=float(args.get("later", 0)))
    return {"settled": writeback.reconcile_pending(now=now)}


def agents(args: dict[str, Any]) -> Any:
    overall = status.of_directory()
    return {
        "status": overall.status,
        "finding": overall.finding,
        "agents": {
            each.agent.name: {
                "status": each.status,
                "done": each.agent.jobs_done,
                "failed": each.agent.jobs_failed,
                "version": each.agent.version,
            }
            for each in overall.agents
        },
        "jobs": _jobs(),
    }


def _jobs() -> list[Any] | None:
    try:
        return list(AgentJob.objects.values_list("kind", "state", "result"))
    except DatabaseError:  # the queue taken away (``queue``)
        return None


def sync(args: dict[str, Any]) -> Any:
    """``opensspr sync`` as the worker runs it: through the agents in agent mode."""
    report = run_sync(meta=META, full=bool(args.get("full", True)), page_size=args.get("page", 500))
    return report.summary()


def scope(args: dict[str, Any]) -> Any:
    """Change the directory settings the test names (``user_ous``, ``kind``...)."""
    DirectorySettings.objects.filter(pk=1).update(**args)
    return {"ok": True}


def user(args: dict[str, Any]) -> Any:
    found = User.objects.filter(user_id=args["user_id"]).first()
    if found is None:
        return {"found": False}
    return {
        "found": True,
        "source": found.source,
        "dn": found.on_premises_dn,
        "email": found.email,
        "display_name": found.display_name,
    }


def revoke(args: dict[str, Any]) -> Any:
    services.revoke(Agent.objects.get(name=args["name"]), actor=None, meta=META)
    return {"ok": True}


def queue(args: dict[str, Any]) -> Any:
    """Take the job table away (the server's own queue unavailable) or give it back."""
    names = ("agents_agentjob", "agents_agentjob_away")
    old, new = names if args["away"] else reversed(names)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")
    return {"ok": True}


COMMANDS = {
    f.__name__: f
    for f in (
        setup,
        person,
        token,
        signin,
        flow,
        change,
        temporary,
        writes,
        reconcile,
        agents,
        sync,
        scope,
        user,
        revoke,
        queue,
    )
}


def serve() -> None:
    """Answer one JSON command per line on stdin, one ``DRIVER`` line each, until EOF."""
    for line in sys.stdin:
        command = json.loads(line)
        try:
            result = COMMANDS[command.pop("command")](command)
        except Exception as exc:  # reported to the test, which fails with it
            result = {"exception": f"{type(exc).__name__}: {exc}"}
        print("DRIVER " + json.dumps(result, default=str), flush=True)
