"""``opensspr sync`` against a real Samba AD DC: UPNs, uSNChanged, userAccountControl, nesting."""

from collections.abc import Callable

import pytest
from ldap3 import MODIFY_REPLACE

from opensspr.accounts.models import Group, User
from opensspr.core.crypto import seal
from opensspr.directory.models import DirectorySettings, SyncState
from opensspr.directory.sync import run_sync
from tests.directory import samba

pytestmark = pytest.mark.django_db


@pytest.fixture
def ad_sync(samba_dc: samba.SambaDc, meta) -> Callable[..., object]:
    DirectorySettings.objects.create(
        pk=1,
        enabled=True,
        kind="active_directory",
        urls=f"ldaps://{samba.HOST}:636",
        tls_mode="ldaps",
        ca_certificate=samba_dc.ca_file.read_text(),
        server_name=samba.SERVER_NAME,
        bind_dn=samba.RESETTER_DN,
        bind_password_sealed=seal(samba.RESETTER_PW),
        base_dn=samba.DOMAIN_DN,
        user_ous=samba.PEOPLE,
        user_filter="(&(objectCategory=person)(objectClass=user))",
        group_ous=samba.PEOPLE,
        group_filter="(objectClass=group)",
        user_id_attribute="userPrincipalName",
    )
    return lambda **kw: run_sync(meta=meta, **kw)


def _upn(dn: str) -> str:
    return dn.split(",", 1)[0].removeprefix("CN=") + "@example.test"


def test_ad_full_and_incremental_sync(samba_dc, ad_user, ad_sync):
    first, second = ad_user(mail="first@mail.example"), ad_user()
    admin = samba_dc.admin()
    try:
        inner = f"CN=syncinner,{samba.PEOPLE}"
        outer = f"CN=syncouter,{samba.PEOPLE}"
        assert admin.add(inner, ["group"], {"sAMAccountName": "syncinner", "member": [first]})
        assert admin.add(outer, ["group"], {"sAMAccountName": "syncouter", "member": [inner]})
        report = ad_sync()
        assert report.full and not report.errors
        user = User.objects.get(user_id=_upn(first))
        assert (user.source, user.on_premises_dn.lower()) == ("synced", first.lower())
        assert user.email == "first@mail.example" and user.account_enabled
        assert [g.name for g in Group.objects.get(name="syncouter").member_groups.all()] == [
            "syncinner"
        ]
        assert SyncState.objects.get().mark.startswith("usn|")
        assert admin.modify(second, {"userAccountControl": [(MODIFY_REPLACE, ["514"])]})
        third = ad_user()
        report = ad_sync()
        assert not report.full
        assert report.users.read < 10  # only what changed since the mark
        assert not User.objects.get(user_id=_upn(second)).account_enabled
        assert User.objects.filter(user_id=_upn(third)).exists()
        admin.delete(third)
        ad_sync(full=True)
        assert not User.objects.get(user_id=_upn(third)).account_enabled
    finally:
        admin.delete(f"CN=syncouter,{samba.PEOPLE}")
        admin.delete(f"CN=syncinner,{samba.PEOPLE}")
        admin.unbind()
