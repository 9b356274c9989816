"""What a rule's numbers and penalties are: plain values, separate from the table of rules.

A number is a constant or an operator's ``Setting``, read at each use. A penalty is what
going over a rule's limit costs: nothing but "not now" (``None``), a fixed ``Block``, a
doubling ``Backoff`` (smart lockout), or short and growing ``Pauses`` (wrong codes).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings


@dataclass(frozen=True)
class Setting:
    """A number an operator tunes: read from Django settings at each use."""

    name: str

    def value(self) -> int:
        return int(getattr(settings, self.name))


type Number = int | Setting


def resolve(number: Number) -> int:
    return number.value() if isinstance(number, Setting) else number


@dataclass(frozen=True)
class Block:
    """Penalty: the subject is blocked, in every rule of its scope, for a fixed time."""

    duration: timedelta


@dataclass(frozen=True)
class Backoff:
    """Penalty: blocked for ``first_seconds``, doubled at each further penalty, up to a cap."""

    first_seconds: Number
    cap_seconds: Number


@dataclass(frozen=True)
class Pauses:
    """Penalty: short pauses that grow with the failures in the window, then a block until
    the window frees.

    ``after`` pairs a count of failures in the window with the pause the failure that
    reaches it sets (``((3, 30 s), (4, 2 min))``); the limit-th failure blocks until the
    oldest failure in the window leaves it, so no more than ``limit`` are ever counted in
    one window and the block lasts no longer than that needs. A person who mistypes a
    code twice is never sent away for a day; a guesser meets a growing wait, then the
    limit. Kept in the database only (durable rules): the pause reads the window's uses.
    """

    after: tuple[tuple[int, timedelta], ...]

    def pause_at(self, used: int) -> timedelta | None:
        return dict(self.after).get(used)

    def wait(self, until: datetime, now: datetime) -> int | None:
        """Whole seconds left of a short pause ending at ``until``; None for a longer block."""
        if not self.is_short(until, now):
            return None
        return max(math.ceil((until - now).total_seconds()), 1)

    def is_short(self, until: datetime, now: datetime) -> bool:
        """A wait no longer than the longest pause: worth waiting out, not a day's block."""
        return until - now <= max(pause for _used, pause in self.after)


type Penalty = Block | Backoff | Pauses | None
