"""Run the writeback doctor on the configured on-premises directory (command and console).

A read-only selector: it unseals the service account's password only to hand
it to the connector, and no finding holds it. Each server URL is checked on
its own, since a TLS or firewall fault can affect one server and not another.
"""

from dataclasses import dataclass

from opensspr.directory.ldap.doctor import Finding, Severity, diagnose, worst
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


def run_directory_doctor(*, sample_user_id: str | None = None) -> list[ServerReport]:
    """Check every configured server; raises ``DoctorNotConfiguredError`` when there is none."""
    settings = DirectorySettings.objects.filter(pk=1).first()
    if settings is None or not settings.url_list() or not settings.bind_dn:
        raise DoctorNotConfiguredError(
            "No on-premises directory is configured (server URLs and a service account)"
        )
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
