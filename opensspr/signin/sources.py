"""Familiar client networks per user ID (reference §5.4, separate counters).

A network is an IPv4 /24 or an IPv6 /64: the granularity at which a person's
address changes least while an attacker's differs. Unknown user IDs never have
familiar networks, exactly like a known ID seen from a new place, so this adds
no way to tell them apart.
"""

import ipaddress
from datetime import datetime, timedelta

from django.db.models import Exists

from opensspr.core.crypto import keyed_digest
from opensspr.signin.models import FamiliarSource

FAMILIAR_FOR = timedelta(days=90)


def _network(ip_address: str | None) -> str | None:
    if not ip_address:
        return None
    address = ipaddress.ip_address(ip_address)
    prefix = 24 if address.version == 4 else 64
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return keyed_digest("signin-network", str(network))


def _key(identifier_key: str) -> str:
    return keyed_digest("signin-familiar", identifier_key)


def network_of(ip_address: str | None) -> str:
    """The keyed digest of the client's network ("" without an address): what a reset flow
    keeps to know whether a later step comes from the network it asked about."""
    return _network(ip_address) or ""


def is_familiar(identifier_key: str, ip_address: str | None, now: datetime) -> bool:
    network = _network(ip_address)
    if network is None:
        return False
    key, network, since = familiar_values(identifier_key, network, now)
    return FamiliarSource.objects.filter(
        key=key, network=network, last_success_at__gt=since
    ).exists()


#: The fields ``seen_from`` compares, in the order of ``familiar_values``.
FAMILIAR_FIELDS = tuple(
    FamiliarSource._meta.get_field(n) for n in ("key", "network", "last_success_at")
)


def familiar_values(identifier_key: str, network: str, now: datetime) -> tuple[str, str, datetime]:
    """What ``seen_from`` compares for ``is_familiar``'s question about ``network``."""
    return _key(identifier_key), network, now - FAMILIAR_FOR


def seen_from(key: str, network: str, since: datetime) -> Exists:
    """``is_familiar`` as an expression, to be asked in the query that loads the person,
    with ``familiar_values``' values (a prepared select puts its own in)."""
    return Exists(
        FamiliarSource.objects.filter(key=key, network=network, last_success_at__gt=since)
    )


def remember(identifier_key: str, ip_address: str | None, now: datetime) -> None:
    network = _network(ip_address)
    if network is not None:
        FamiliarSource.objects.update_or_create(
            key=_key(identifier_key), network=network, defaults={"last_success_at": now}
        )
