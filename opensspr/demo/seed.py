"""The demo organisation: enough variety to walk every path by hand.

Seeding goes through the same services as everything else (so the audit log
shows it) and is idempotent: users that already exist are left alone.
"""

from dataclasses import dataclass
from datetime import timedelta

import pyotp
from django.db import transaction

from opensspr.accounts.models import Group, GuestKind, Organisation, User, UserType
from opensspr.accounts.roles import AdminRole
from opensspr.accounts.services import UserData, create_group, create_user, rename_organisation
from opensspr.core import clock
from opensspr.core.crypto import seal, unseal
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import predefined_key, question_text, replace_answers
from opensspr.policy.models import SsprPolicy, SsprScope

DOMAIN = "lakeside.example"
DEMO_PASSWORD = "Sunrise-Harbour-42"  # noqa: S105 (demo only; printed to the operator on purpose)


@dataclass(frozen=True)
class DemoAccount:
    data: UserData
    note: str
    password_age_days: int = 0


def _id(local: str) -> str:
    return f"{local}@{DOMAIN}"


ACCOUNTS = (
    DemoAccount(
        UserData(
            _id("ada.admin"),
            "Ada Admin",
            "Ada",
            "Admin",
            email=_id("ada.admin"),
            auth_email="ada.private@mail.example",
            mobile_phone="+31 6 12345601",
            roles=(AdminRole.GLOBAL,),
            groups=("All staff",),
        ),
        "global administrator (console at /console/)",
    ),
    DemoAccount(
        UserData(
            _id("hugo.helpdesk"),
            "Hugo Helpdesk",
            "Hugo",
            "Helpdesk",
            email=_id("hugo.helpdesk"),
            auth_email="hugo@mail.example",
            roles=(AdminRole.HELPDESK,),
            groups=("All staff",),
        ),
        "helpdesk administrator",
    ),
    DemoAccount(
        UserData(
            _id("jan.jansen"),
            "Jan Jansen",
            "Jan",
            "Jansen",
            email=_id("jan.jansen"),
            auth_email="jan.jansen@mail.example",
            mobile_phone="+31 6 12345602",
            office_phone="+31 20 555 0102",
            groups=("Sales", "All staff"),
        ),
        "member with email and phones registered",
    ),
    DemoAccount(
        UserData(
            _id("maria.garcia"),
            "María García",
            "María",
            "García",
            email=_id("maria.garcia"),
            auth_email="maria@mail.example",
            groups=("All staff",),
        ),
        "member with an authentication email only",
    ),
    DemoAccount(
        UserData(
            _id("nina.new"), "Nina New", "Nina", "New", email=_id("nina.new"), groups=("All staff",)
        ),
        "member who never registered any security info",
    ),
    DemoAccount(
        UserData(
            _id("oscar.old"),
            "Oscar Old",
            "Oscar",
            "Old",
            email=_id("oscar.old"),
            auth_email="oscar@mail.example",
            groups=("All staff",),
        ),
        "member whose password has expired (must change at sign-in)",
        password_age_days=200,
    ),
    DemoAccount(
        UserData(
            "pat_partner.example#EXT#@" + DOMAIN,
            "Pat Partner (guest)",
            "Pat",
            "Partner",
            email="pat@partner.example",
            auth_email="pat@partner.example",
            user_type=UserType.GUEST,
            guest_kind=GuestKind.B2B_PARTNER,
        ),
        "guest from a B2B partner organisation",
    ),
)


def _configure_reset_policy() -> None:
    """Self-service reset on for everyone, every built method allowed (first seed only)."""
    SsprPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "scope": SsprScope.ALL,
            "methods_required": 1,
            "allow_email": True,
            "allow_mobile_sms": True,
            "allow_mobile_voice": True,
            "allow_office_voice": True,
            "allow_app_code": True,
            "unlock_without_reset": True,
        },
    )


def _register_demo_app(user: User) -> str:
    """An authenticator app for the demo, its secret printed so anyone can add it."""
    app = AuthenticatorApp.objects.filter(user=user).first()
    if app is None:
        secret = pyotp.random_base32()
        app = AuthenticatorApp.objects.create(
            user=user,
            name="Demo authenticator",
            secret_sealed=seal(secret),
            confirmed_at=clock.now(),
        )
    return unseal(app.secret_sealed)


#: Jan's security answers, printed by the demo so anyone can answer them. The
#: questions are off in the demo policy (as by default); the README says how to try them.
DEMO_ANSWERS = {
    predefined_key(2): "Zwolle",
    predefined_key(12): "Stamppot",
    predefined_key(24): "De Regenboog",
    predefined_key(29): "Bello",
    predefined_key(30): "Jantje",
}


def _register_demo_answers(user: User) -> None:
    if not SecurityAnswer.objects.filter(user=user).exists():
        replace_answers(user, DEMO_ANSWERS)


@dataclass(frozen=True)
class DemoSeed:
    accounts: list[DemoAccount]
    authenticator_user: str
    authenticator_secret: str
    answers: dict[str, str]


def seed_organisation(meta: RequestMeta) -> None:
    """The organisation's name and its reset policy, on the first seed only."""
    if not Organisation.objects.exists():
        rename_organisation(name="Lakeside", meta=meta)
        _configure_reset_policy()


def seed_jan_methods() -> DemoSeed:
    """Jan's security answers and authenticator app (once), and what the demo prints."""
    jan = User.objects.get(user_id=_id("jan.jansen"))
    _register_demo_answers(jan)
    answers = {str(question_text(key)): answer for key, answer in DEMO_ANSWERS.items()}
    return DemoSeed(list(ACCOUNTS), jan.user_id, _register_demo_app(jan), answers)


@transaction.atomic
def seed_demo() -> DemoSeed:
    meta = RequestMeta.system()
    seed_organisation(meta)
    if not Group.objects.filter(name="All staff").exists():
        create_group(name="All staff", description="Everyone", meta=meta)
        create_group(name="Sales", description="Sales team", meta=meta)
        create_group(
            name="SSPR pilot",
            description="Pilot users of self-service reset",
            member_groups=["Sales"],
            meta=meta,
        )
    for account in ACCOUNTS:
        if User.objects.filter(user_id=account.data.user_id).exists():
            continue
        user = create_user(data=account.data, meta=meta, password=DEMO_PASSWORD)
        if account.password_age_days:
            user.password_last_set = clock.now() - timedelta(days=account.password_age_days)
            user.save(update_fields=["password_last_set"])
    return seed_jan_methods()
