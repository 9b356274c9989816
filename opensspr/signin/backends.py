"""Session backend for ``django.contrib.auth``.

It authenticates nobody: every password check goes through
``signin.services.sign_in`` (smart lockout, audit). It only reloads the signed-in
user for each request, and drops the session of a disabled account.
"""

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from opensspr.accounts.models import User


class DirectorySessionBackend(BaseBackend):
    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and user.account_enabled else None
