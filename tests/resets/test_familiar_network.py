"""A flow knows whether its person signed in lately from the network it starts on.

The start asks it in the query that finds the person (a prepared select): a failed
answer from a familiar network counts against the familiar lockout counter, one from
elsewhere against the other (reference §5.4).
"""

from datetime import timedelta

import pytest

from opensspr.accounts.identifiers import identifier_key
from opensspr.core.request_meta import RequestMeta
from opensspr.resets.flow import start_flow
from opensspr.resets.models import ResetFlow
from opensspr.signin import sources
from tests.conftest import open_reset_policy

pytestmark = pytest.mark.django_db


def _started(user_id: str, ip_address: str | None) -> ResetFlow:
    start_flow(identifier=user_id, meta=RequestMeta(ip_address, "pytest", "familiar"))
    return ResetFlow.objects.order_by("-pk")[0]


def test_the_network_a_person_signed_in_from_is_familiar_to_their_flow(user_factory, clock):
    open_reset_policy()
    jan = user_factory("jan@contoso.example", auth_email="jan@mail.example")
    sources.remember(identifier_key(jan.user_id), "198.51.100.7", clock.now)

    here = _started(jan.user_id, "198.51.100.200")  # the same /24
    assert here.user == jan and here.network_familiar
    assert not _started(jan.user_id, "203.0.113.9").network_familiar
    assert not _started(jan.user_id, None).network_familiar
    assert not _started("nobody@contoso.example", "198.51.100.7").network_familiar


def test_a_network_not_seen_for_ninety_days_is_no_longer_familiar(user_factory, clock):
    open_reset_policy()
    jan = user_factory("jan@contoso.example", auth_email="jan@mail.example")
    sources.remember(identifier_key(jan.user_id), "198.51.100.7", clock.now)
    clock.set(clock.now + sources.FAMILIAR_FOR - timedelta(minutes=1))
    assert _started(jan.user_id, "198.51.100.7").network_familiar
    clock.advance(minutes=2)
    assert not _started(jan.user_id, "198.51.100.7").network_familiar
