"""The configured on-premises directory, and what sync remembers between runs.

``DirectorySettings`` is one row (pk=1) edited in the console: how to reach the
directory, what is in scope, how attributes map, which groups make
administrators, and how often to sync. The service account's password is
stored sealed (``core.crypto.seal``) and is write-only in the console: it is
the organisation's credential, so it lives with the rest of the directory's
configuration, and sealing means a database dump alone doesn't give it away
(the key is ``OPENSSPR_ENCRYPTION_KEY`` or derived from ``SECRET_KEY``).

``SyncState`` (pk=1) is written only by sync: the change mark, the last runs,
and a lease so two workers never sync at once. ``SyncedGroup`` links a group
here to its entry there.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.models import Group, User
from opensspr.accounts.roles import AdminRole
from opensspr.core.crypto import unseal
from opensspr.directory.ldap.config import USER_ID_ATTRIBUTES, LdapConfig, TlsMode
from opensspr.directory.mapping import AttributeMap


class DirectoryKind(models.TextChoices):
    OPENLDAP = "openldap", _("OpenLDAP")
    ACTIVE_DIRECTORY = "active_directory", _("Active Directory")


class TlsChoice(models.TextChoices):
    LDAPS = TlsMode.LDAPS.value, _("LDAPS (TLS from the start, port 636)")
    STARTTLS = TlsMode.STARTTLS.value, _("StartTLS (port 389)")


class Transport(models.TextChoices):
    DIRECT = "direct", _("Directly from this server")
    AGENT = "agent", _("Through on-premises agents (outbound only)")


class DirectorySettings(models.Model):
    enabled = models.BooleanField(_("sync enabled"), default=False)
    transport = models.CharField(
        _("reach the directory"),
        max_length=8,
        choices=Transport.choices,
        default=Transport.DIRECT,
        help_text=_(
            "Through agents when this server can't open connections into the network where "
            "the directory is: the agents dial out to it, and hold the directory's address "
            "and service account themselves."
        ),
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=DirectoryKind.choices, default=DirectoryKind.OPENLDAP
    )
    urls = models.TextField(
        _("server URLs"),
        blank=True,
        help_text=_("One per line, tried in order, e.g. ldaps://dc1.example.org:636."),
    )
    tls_mode = models.CharField(
        _("TLS"), max_length=10, choices=TlsChoice.choices, default=TlsChoice.STARTTLS
    )
    ca_certificate = models.TextField(
        _("CA certificate (PEM)"),
        blank=True,
        help_text=_("Leave empty to trust the system's certificate authorities."),
    )
    server_name = models.CharField(
        _("name on the certificate"),
        max_length=255,
        blank=True,
        help_text=_("Only if the URLs use a name or address the certificate doesn't carry."),
    )
    bind_dn = models.CharField(_("service account DN"), max_length=1024, blank=True)
    bind_password_sealed = models.TextField(blank=True, editable=False)
    base_dn = models.CharField(_("base DN"), max_length=1024, blank=True)
    user_ous = models.TextField(
        _("user OUs in scope"), blank=True, help_text=_("One DN per line; empty: the base DN.")
    )
    group_ous = models.TextField(
        _("group OUs in scope"), blank=True, help_text=_("One DN per line; empty: no groups.")
    )
    user_filter = models.CharField(
        _("user object filter"), max_length=512, default="(objectClass=inetOrgPerson)"
    )
    group_filter = models.CharField(
        _("group object filter"), max_length=512, default="(objectClass=groupOfNames)"
    )
    user_id_attribute = models.CharField(
        _("user ID attribute"),
        max_length=64,
        default="uid",
        choices=[(a, a) for a in sorted(USER_ID_ATTRIBUTES)],
    )
    user_id_suffix = models.CharField(
        _("user ID domain"),
        max_length=48,
        blank=True,
        help_text=_("Added as @domain to user IDs without one (uid jan -> jan@example.org)."),
    )
    display_name_attribute = models.CharField(
        _("display name attribute"), max_length=64, default="displayName"
    )
    given_name_attribute = models.CharField(
        _("given name attribute"), max_length=64, default="givenName", blank=True
    )
    surname_attribute = models.CharField(
        _("surname attribute"), max_length=64, default="sn", blank=True
    )
    email_attribute = models.CharField(_("email attribute"), max_length=64, default="mail")
    mobile_phone_attribute = models.CharField(
        _("mobile phone attribute"), max_length=64, default="mobile", blank=True
    )
    office_phone_attribute = models.CharField(
        _("office phone attribute"), max_length=64, default="telephoneNumber", blank=True
    )
    disabled_attribute = models.CharField(
        _("disabled when this attribute..."),
        max_length=64,
        default="pwdAccountLockedTime",
        help_text=_("OpenLDAP only; Active Directory uses userAccountControl."),
    )
    disabled_value = models.CharField(
        _("...holds this value"), max_length=128, default="000001010000Z"
    )
    group_name_attribute = models.CharField(_("group name attribute"), max_length=64, default="cn")
    member_attribute = models.CharField(
        _("group member attribute"), max_length=64, default="member"
    )
    ppolicy_default_dn = models.CharField(
        _("default password policy DN"),
        max_length=1024,
        blank=True,
        help_text=_(
            "OpenLDAP only: the entry olcPPolicyDefault names (e.g. "
            "cn=default,ou=policies,dc=example,dc=org), so the reset page can show its rules."
        ),
    )
    ad_policy_hints = models.BooleanField(
        _("apply history and minimum age to resets"),
        default=True,
        help_text=_(
            "Active Directory only: send the policy-hints control, so a reset obeys password "
            "history and minimum age like the person's own change. Needs Windows Server 2016 "
            "or later (Samba, 4.22 included, lacks it); a domain controller without it refuses "
            "resets."
        ),
    )
    sync_interval_minutes = models.PositiveIntegerField(
        _("sync every (minutes)"), default=15, help_text=_("0: only when run by hand.")
    )
    full_sync_interval_hours = models.PositiveIntegerField(
        _("full sync every (hours)"),
        default=24,
        help_text=_("A full run also finds deleted entries and mirrors them as disabled."),
    )

    class Meta:
        verbose_name = _("on-premises directory")
        verbose_name_plural = _("on-premises directory")

    def __str__(self) -> str:
        return str(_("On-premises directory"))

    def url_list(self) -> list[str]:
        return [line.strip() for line in self.urls.splitlines() if line.strip()]

    def scope(self, field: str) -> list[str]:
        return [line.strip() for line in getattr(self, field).splitlines() if line.strip()]

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        wanted = "ldaps" if self.tls_mode == TlsChoice.LDAPS else "ldap"
        for url in self.url_list():
            parts = urlsplit(url)
            if parts.scheme != wanted or not parts.hostname:
                errors.setdefault("urls", []).append(
                    str(_("%(url)s: expected %(scheme)s://host[:port] for this TLS mode."))
                    % {"url": url, "scheme": wanted}
                )
        for name in ("user_filter", "group_filter"):
            value = getattr(self, name)
            if not (value.startswith("(") and value.endswith(")")):
                errors[name] = [str(_("A filter is written in parentheses."))]
        direct = self.transport == Transport.DIRECT
        if self.enabled and direct and not (self.url_list() and self.bind_dn and self.base_dn):
            errors.setdefault("enabled", []).append(
                str(_("Sync needs server URLs, a service account and a base DN."))
            )
        if self.enabled and not direct and not self.base_dn:
            errors.setdefault("enabled", []).append(
                str(_("Sync through agents needs the base DN (the agents hold the rest)."))
            )
        if errors:
            raise ValidationError(errors)

    def attribute_map(self) -> AttributeMap:
        return AttributeMap(
            user_id=self.user_id_attribute,
            user_id_suffix=self.user_id_suffix,
            display_name=self.display_name_attribute,
            given_name=self.given_name_attribute,
            surname=self.surname_attribute,
            email=self.email_attribute,
            mobile_phone=self.mobile_phone_attribute,
            office_phone=self.office_phone_attribute,
            active_directory=self.kind == DirectoryKind.ACTIVE_DIRECTORY,
            disabled_attribute=self.disabled_attribute,
            disabled_value=self.disabled_value,
            group_name=self.group_name_attribute,
            member=self.member_attribute,
        )

    def ldap_configs(self) -> list[LdapConfig]:
        """One connection setting per URL, in order (the password unsealed here only)."""
        password = unseal(self.bind_password_sealed) if self.bind_password_sealed else ""
        configs = []
        for url in self.url_list():
            parts = urlsplit(url)
            tls = TlsMode(self.tls_mode)
            configs.append(
                LdapConfig(
                    host=parts.hostname or "",
                    port=parts.port or (636 if tls is TlsMode.LDAPS else 389),
                    tls=tls,
                    bind_dn=self.bind_dn,
                    bind_password=password,
                    user_base=self.base_dn,
                    user_id_attribute=self.user_id_attribute,
                    user_object_filter=self.user_filter,
                    ca_data=self.ca_certificate or None,
                    server_name=self.server_name or None,
                    default_policy_dn=self.ppolicy_default_dn or None,
                )
            )
        return configs


class RoleMapping(models.Model):
    """Members of this directory group (directly or nested) hold this role here."""

    settings = models.ForeignKey(
        DirectorySettings, on_delete=models.CASCADE, related_name="role_mappings"
    )
    group_dn = models.CharField(_("directory group DN"), max_length=1024)
    role = models.CharField(_("role"), max_length=40, choices=AdminRole.choices)

    class Meta:
        verbose_name = _("administrator role from a directory group")
        verbose_name_plural = _("administrator roles from directory groups")
        constraints = [
            models.UniqueConstraint(fields=["group_dn", "role"], name="directory_role_once")
        ]

    def __str__(self) -> str:
        return f"{self.group_dn} -> {self.role}"


class SyncedGroup(models.Model):
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="synced_from")
    dn = models.CharField(max_length=1024)
    dn_key = models.CharField(max_length=1024, unique=True)  # the DN lower-cased

    def __str__(self) -> str:
        return self.dn


class SyncState(models.Model):
    mark = models.CharField(max_length=256, blank=True)
    last_run_at = models.DateTimeField(null=True)
    last_full_run_at = models.DateTimeField(null=True)
    last_result = models.CharField(max_length=256, blank=True)
    lease_until = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.mark


class IntentState(models.TextChoices):
    PENDING = "pending", _("in progress")  # sent, or about to be: the answer isn't known yet
    APPLIED = "applied", _("applied")  # the directory has the new password
    NOT_APPLIED = "not_applied", _("not applied")  # refused, or never reached the directory


class WritebackIntent(models.Model):
    """A password write to the directory, recorded before it is sent.

    The row commits before the write goes out, so a crash or a lost answer
    leaves it ``pending``: the reconciler then reads the directory's password
    marker (``pwdChangedTime``, ``pwdLastSet``), compares it with ``marker``
    taken just before the write, and finishes the audit and the notification
    exactly once, whichever of the request and the reconciler gets there
    first. It never writes the password again: a blind retry would turn a
    success into "password in history". ``context`` holds what the finisher
    needs (the flow, the request's address); never a password.
    """

    purpose = models.CharField(max_length=32)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="writeback_intents")
    dn = models.CharField(max_length=1024)
    marker = models.CharField(max_length=64, blank=True)
    marker_known = models.BooleanField(default=False)
    # host:port of the server that gave ``marker``: the write and every read that
    # settles it go there alone, as replicas lag (empty: through an agent).
    server = models.CharField(max_length=300, blank=True, default="")
    state = models.CharField(
        max_length=12, choices=IntentState.choices, default=IntentState.PENDING, db_index=True
    )
    reason = models.CharField(max_length=64, blank=True)
    context = models.JSONField(default=dict)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["state", "started_at"], name="writeback_pending")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.state}"
