"""An unknown user ID gets options shaped like a real person's."""

import pytest

from opensspr.policy.kinds import MethodKind as K
from opensspr.resets.flow import start_flow
from tests.conftest import open_reset_policy

pytestmark = pytest.mark.django_db
ORDER = list(K)


@pytest.fixture(autouse=True)
def _policy():
    open_reset_policy(unlock_without_reset=False)


def test_decoy_lists_are_shaped_like_real_ones(meta):
    for n in range(150):
        kinds = [
            o.kind for o in start_flow(identifier=f"ghost{n}@contoso.example", meta=meta).options
        ]
        assert kinds == sorted(kinds, key=ORDER.index), kinds
        assert (K.MOBILE_SMS in kinds) == (K.MOBILE_VOICE in kinds), kinds
        assert kinds
