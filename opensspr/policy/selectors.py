"""Reads of the organisation's password policy, and what it means for one user."""

from datetime import datetime, timedelta

from opensspr.accounts.models import User, UserSource
from opensspr.accounts.selectors import get_organisation
from opensspr.core.memo import remembered
from opensspr.policy.models import PASSWORD_SETTINGS_KEY, PasswordSettings
from opensspr.policy.passwords import PasswordContext, PasswordProfile


def get_password_settings() -> PasswordSettings:
    """The settings row (pk 1): once per request, shared across requests (``core/memo.py``)."""
    return remembered(PASSWORD_SETTINGS_KEY, _load_password_settings, shared=True)


def _load_password_settings() -> PasswordSettings:
    return PasswordSettings.objects.filter(pk=1).first() or PasswordSettings(pk=1)


def password_context_for(user: User, *, current_password: str | None = None) -> PasswordContext:
    settings = get_password_settings()
    return PasswordContext(
        user_id=user.user_id,
        given_name=user.given_name,
        surname=user.surname,
        display_name=user.display_name,
        organisation_name=get_organisation().name,
        custom_banned_terms=settings.banned_terms,
        current_password=current_password,
        nist_min_length=settings.nist_min_length,
    )


def get_password_profile() -> PasswordProfile:
    return PasswordProfile(get_password_settings().profile)


def password_expires_at(user: User) -> datetime | None:
    """When ``user``'s password expires, or None if it never does.

    Only passwords kept in the built-in directory expire here; a synchronised
    user's expiry is the on-premises directory's business.
    """
    settings = get_password_settings()
    if (
        not settings.passwords_expire
        or user.password_never_expires
        or user.source != UserSource.CLOUD
        or user.password_last_set is None
    ):
        return None
    return user.password_last_set + timedelta(days=settings.expiry_days)


def is_password_expired(user: User, now: datetime) -> bool:
    expires = password_expires_at(user)
    return expires is not None and expires <= now
