"""What the writeback doctor reports: one finding per check, with its cause and its fix.

A finding's ``code`` is stable (scripts, the console and the docs' table key on
it); ``cause`` and ``fix`` are plain English for the operator who set the
directory up. No Django here, so the on-premises agent can run the same checks.

Each cause and fix is a template marked with ``gettext_noop`` (the name Django's
``makemessages`` collects) and filled from ``params``: the command prints the
English, and the console translates the template and fills it again
(``directory.doctor.ServerReport.shown``), in the administrator's language.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


#: Errors first: the order the command and the console list findings in.
SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.OK)


def gettext_noop(message: str) -> str:
    """Mark a template for the translators and return it as it is (Django-free)."""
    return message


@dataclass(frozen=True)
class Finding:
    """One check's result: ``subject`` names what was checked (a server, a DN, an account)."""

    code: str
    severity: Severity
    subject: str
    cause_template: str
    fix_template: str = ""
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def cause(self) -> str:
        return fill(self.cause_template, self.params)

    @property
    def fix(self) -> str:
        return fill(self.fix_template, self.params)

    def as_dict(self) -> dict[str, str]:
        """The finding in English, as the command's ``--json`` prints it for scripts."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "subject": self.subject,
            "cause": self.cause,
            "fix": self.fix,
        }


def fill(template: str, params: Mapping[str, str]) -> str:
    """``template`` with its ``%(name)s`` places filled; unchanged when it has none."""
    return template % params if params else template


def ok(code: str, subject: str, cause: str, **params: object) -> Finding:
    return Finding(code, Severity.OK, subject, cause, "", _text(params))


def warning(code: str, subject: str, cause: str, fix: str, **params: object) -> Finding:
    return Finding(code, Severity.WARNING, subject, cause, fix, _text(params))


def error(code: str, subject: str, cause: str, fix: str, **params: object) -> Finding:
    return Finding(code, Severity.ERROR, subject, cause, fix, _text(params))


def _text(params: Mapping[str, object]) -> dict[str, str]:
    return {name: str(value) for name, value in params.items()}


def ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda finding: SEVERITY_ORDER.index(finding.severity))


def worst(findings: Iterable[Finding]) -> Severity:
    severities = {finding.severity for finding in findings}
    return next((s for s in SEVERITY_ORDER if s in severities), Severity.OK)
