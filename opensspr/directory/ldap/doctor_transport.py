"""The writeback doctor's first steps: reaching the server, over TCP, then TLS.

When the connector can't connect, it says only which kind of failure it met
(``connection.py`` keeps the class name: ldap3's messages can quote requests),
so these checks connect once more, with the standard library, to say why: the
name doesn't resolve, nothing listens, a firewall drops the packets, or the
certificate is untrusted, issued for another name, or expired.
"""

import socket
import ssl

from opensspr.directory.errors import DirectoryCode, DirectoryUnavailableError
from opensspr.directory.ldap.config import LdapConfig, TlsMode
from opensspr.directory.ldap.findings import Finding, error, gettext_noop, ok

# A StartTLS request (RFC 4511 ExtendedRequest, message ID 1, OID 1.3.6.1.4.1.1466.20037).
STARTTLS_REQUEST = bytes.fromhex("301d02010177188016") + b"1.3.6.1.4.1.1466.20037"
# OpenSSL X509_V_ERR_* numbers the TLS probe tells apart.
_NAME_MISMATCH = {62, 64}  # hostname, IP address
_EXPIRED = {9, 10}  # not yet valid, expired


def connected(config: LdapConfig, subject: str) -> Finding:
    """The connection opened, TLS and all: what was checked, in the administrator's words."""
    name = config.server_name or config.host
    if config.tls is TlsMode.LDAPS:
        cause = gettext_noop(
            "Connected with LDAPS; the certificate is trusted and valid for %(name)s."
        )
    else:
        cause = gettext_noop(
            "Connected with StartTLS; the certificate is trusted and valid for %(name)s."
        )
    return ok("connected", subject, cause, name=name)


def transport_finding(config: LdapConfig, exc: DirectoryUnavailableError) -> Finding:
    """Why the connection failed: the TCP connect, or which part of TLS."""
    if exc.code != DirectoryCode.TLS_FAILURE:
        return connect_finding(config)
    return tls_finding(config, probe_tls(config))


def connect_finding(config: LdapConfig) -> Finding:
    subject = f"{config.host}:{config.port}"
    try:
        socket.create_connection((config.host, config.port), timeout=config.connect_timeout).close()
    except socket.gaierror:
        return error(
            "host_unknown",
            subject,
            gettext_noop("The name %(host)s does not resolve."),
            gettext_noop("Correct the server URL, or add the name to DNS."),
            host=config.host,
        )
    except ConnectionRefusedError:
        return error(
            "connect_refused",
            subject,
            gettext_noop("The server refused the connection: nothing listens on that port."),
            gettext_noop(
                "Check the URL's port (636 for LDAPS, 389 for StartTLS) and that the directory "
                "runs."
            ),
        )
    except OSError:
        return error(
            "connect_timeout",
            subject,
            gettext_noop("No answer within %(seconds)s seconds."),
            gettext_noop("Check the host, and that a firewall lets this server reach that port."),
            seconds=f"{config.connect_timeout:g}",
        )
    return error(
        "connect_failed",
        subject,
        gettext_noop(
            "The TCP connection opens, but the directory closed or did not answer the LDAP session."
        ),
        gettext_noop(
            "Check that the port serves LDAP (not another service) and the directory's logs."
        ),
    )


def probe_tls(config: LdapConfig) -> int | str | None:
    """The OpenSSL verify code of a handshake as the connector does it, or a word.

    ``connection.py`` keeps only the failure's class name (ldap3's messages can
    quote requests), so the doctor shakes hands once more with Python's own
    ``ssl``, which says why: untrusted, wrong name, expired.
    """
    context = ssl.create_default_context(cafile=config.ca_file, cadata=config.ca_data)
    try:
        raw = socket.create_connection((config.host, config.port), timeout=config.connect_timeout)
    except OSError:
        return "connect"
    try:
        if config.tls is TlsMode.STARTTLS:
            raw.sendall(STARTTLS_REQUEST)
            answer = raw.recv(4096)
            if b"\x0a\x01\x00" not in answer[:16]:  # resultCode success (ENUMERATED 0)
                return "starttls"
        with context.wrap_socket(raw, server_hostname=config.server_name or config.host):
            return None
    except ssl.SSLCertVerificationError as exc:
        return exc.verify_code
    except (ssl.SSLError, OSError):
        return "handshake"
    finally:
        raw.close()


def tls_finding(config: LdapConfig, verdict: int | str | None) -> Finding:
    subject = f"{config.host}:{config.port}"
    name = config.server_name or config.host
    if verdict in _NAME_MISMATCH:
        return error(
            "tls_name_mismatch",
            subject,
            gettext_noop("The certificate is trusted but not issued for %(name)s."),
            gettext_noop(
                "Connect with a name the certificate carries, or set 'name on the certificate'."
            ),
            name=name,
        )
    if verdict in _EXPIRED:
        return error(
            "tls_expired",
            subject,
            gettext_noop("The server's certificate is expired or not yet valid."),
            gettext_noop("Renew the directory's certificate (and check this server's clock)."),
        )
    if isinstance(verdict, int):
        return error(
            "tls_untrusted",
            subject,
            gettext_noop(
                "The server's certificate is not signed by a trusted certificate authority."
            ),
            gettext_noop(
                "Paste the CA that issued the directory's certificate into 'CA certificate (PEM)'."
            ),
        )
    if verdict == "starttls":
        return error(
            "starttls_refused",
            subject,
            gettext_noop("The server refused StartTLS: it has no certificate configured."),
            gettext_noop(
                "Give the directory a certificate, or use LDAPS if only that port has one."
            ),
        )
    return error(
        "tls_failure",
        subject,
        gettext_noop(
            "The TLS handshake failed (protocol or cipher: TLS 1.2 or later is required)."
        ),
        gettext_noop(
            "Check the URL's scheme against the TLS mode, and the directory's TLS settings."
        ),
    )
