"""``opensspr unlock USER_ID``: end a smart lockout from the command line.

The recovery path when every administrator is locked out: whoever can run
commands on the server already holds the database. Audited like a console unlock.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opensspr.accounts.selectors import get_user_by_identifier
from opensspr.core.request_meta import RequestMeta
from opensspr.signin.services import unlock_sign_in


class Command(BaseCommand):
    help = "End the sign-in lockout of a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_by_identifier(options["user_id"])
        if user is None:
            raise CommandError(f"No user with the ID {options['user_id']!r}.")
        unlock_sign_in(actor=None, user=user, meta=RequestMeta.system())
        self.stdout.write(f"{user.user_id} is unlocked.")
