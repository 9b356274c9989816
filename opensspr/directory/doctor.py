"""Run the writeback doctor on the configured on-premises directory (command and console).

It only reads the directory: it unseals the service account's password only to
hand it to the connector, and no finding holds it. Each server URL is checked
on its own, since a TLS or firewall fault can affect one server and not another.
A check from the console is still audited (``check_directory``): it binds as the
service account and can look a person up in the directory, so who did it, and
what it found, belongs in the log.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core.request_meta import RequestMeta
from opensspr.directory.ldap.findings import Finding, Severity, fill, worst
from opensspr.directory.models import DirectoryKind, DirectorySettings


class DoctorNotConfiguredError(Exception):
    """There is no on-premises directory to check yet."""


@dataclass(frozen=True)
class ServerReport:
    """The findings for one server URL, errors first."""

    url: str
    findings: list[Finding]

    @property
    def severity(self) -> Severity:
        return worst(self.findings)

    @property
    def shown(self) -> list["ShownFinding"]:
        """The findings in the reader's language (read while the page renders)."""
        return [
            ShownFinding(
                f.code, f.severity, f.subject, _say(f.cause_template, f), _say(f.fix_template, f)
            )
            for f in self.findings
        ]


@dataclass(frozen=True)
class ShownFinding:
    code: str
    severity: Severity
    subject: str
    cause: str
    fix: str


def _say(template: str, finding: Finding) -> str:
    """A connector's English template in the active language, filled with its values.

    The templates are marked in the connectors (``gettext_noop``) and so in the
    catalogue; one without a translation reads in English.
    """
    return fill(gettext(template), finding.params) if template else ""


def run_directory_doctor(*, sample_user_id: str | None = None) -> list[ServerReport]:
    """Check every configured server; raises ``DoctorNotConfiguredError`` when there is none."""
    settings = DirectorySettings.objects.filter(pk=1).first()
    if settings is None or not settings.url_list() or not settings.bind_dn:
        raise DoctorNotConfiguredError(
            "No on-premises directory is configured (server URLs and a service account)"
        )
    # The checks need ldap3, loaded here and not by every console page (about 13 MB).
    from opensspr.directory.ldap.doctor import diagnose  # noqa: PLC0415

    scopes = settings.scope("user_ous") or [settings.base_dn]
    kind = settings.kind
    return [
        ServerReport(
            url=url,
            findings=diagnose(
                config,
                kind=kind,
                scope_dns=scopes,
                sample_user_id=sample_user_id or None,
                policy_hints=settings.ad_policy_hints or kind != DirectoryKind.ACTIVE_DIRECTORY,
            ),
        )
        for url, config in zip(settings.url_list(), settings.ldap_configs(), strict=True)
    ]


def has_errors(reports: list[ServerReport]) -> bool:
    return any(report.severity is Severity.ERROR for report in reports)


def check_directory(
    *, actor: User, meta: RequestMeta, sample_user_id: str | None = None
) -> list[ServerReport]:
    """``run_directory_doctor`` for an administrator, audited with its verdict.

    The audit names the servers' worst result and the codes found, never the
    sample user's ID (a typed ID may be a password typed in the wrong field).
    """
    reports = run_directory_doctor(sample_user_id=sample_user_id)
    codes = sorted({f.code for r in reports for f in r.findings if f.severity is not Severity.OK})
    severity = worst(f for r in reports for f in r.findings)
    with transaction.atomic():
        record_event(
            activity=Activity.DIRECTORY_CHECKED,
            outcome=Outcome.FAILURE if severity is Severity.ERROR else Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            reason=str(severity.value),
            details={
                "servers": len(reports),
                "findings": codes[:20],
                "sample_user": bool(sample_user_id),
            },
        )
    return reports
