"""The users half of a sync run: map, validate, create or update, in batches.

The only code that sets ``User.source = synced`` and ``on_premises_dn``
(besides ``create_synced_user`` for one entry). A user is matched by DN first,
then by user ID among users that are already synced (an entry that moved).
An entry whose user ID belongs to a *cloud* user is refused: taking the
account over would move its password to the directory. Each batch is one
transaction; a bad entry is reported and the run goes on.
"""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, models, transaction

from opensspr.accounts.identifiers import identifier_key, validate_user_id
from opensspr.accounts.models import User, UserSource
from opensspr.accounts.phones import normalise_phone
from opensspr.accounts.services import UserData, create_user
from opensspr.accounts.signals import people_changed
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.core.sql import one_of
from opensspr.directory.ldap.records import Entry
from opensspr.directory.mapping import AttributeMap, MappedUser, MappingError, map_user

BATCH = 1000
MAPPED_FIELDS = (
    "user_id",
    "display_name",
    "given_name",
    "surname",
    "email",
    "mobile_phone",
    "office_phone",
    "account_enabled",
    "on_premises_dn",
)
_LIMITS = {"display_name": 256, "given_name": 64, "surname": 64, "on_premises_dn": 1024}
_email = EmailValidator()


@dataclass(frozen=True)
class EntryError:
    dn: str
    messages: tuple[str, ...]


@dataclass
class UserCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    disabled: int = 0
    enabled: int = 0
    errors: list[EntryError] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # DN keys read this run, good or bad
    newest_timestamp: str = ""


def _messages(error: ValidationError, name: str) -> list[str]:
    return [f"{name}: {m}" for m in error.messages]


def validated(mapped: MappedUser, known_phones: frozenset[str] = frozenset()) -> dict[str, object]:
    """The stored values for ``mapped``; raises ``ValidationError`` with every problem.

    ``known_phones`` are numbers already stored (so already normalised): an entry
    that still carries one is not parsed again (parsing is most of a full run's
    own cost once the users exist).
    """
    problems: list[str] = []
    try:
        validate_user_id(mapped.user_id)
    except ValidationError as exc:
        problems += _messages(exc, "user ID")
    values: dict[str, object] = {
        "user_id": mapped.user_id,
        "display_name": mapped.display_name,
        "given_name": mapped.given_name,
        "surname": mapped.surname,
        "email": mapped.email,
        "account_enabled": mapped.enabled,
        "on_premises_dn": mapped.dn,
    }
    if mapped.email:
        try:
            _email(mapped.email)
        except ValidationError as exc:
            problems += _messages(exc, "email")
    for name in ("mobile_phone", "office_phone"):
        raw = getattr(mapped, name)
        if raw in known_phones:
            values[name] = raw
            continue
        try:
            values[name] = normalise_phone(raw)
        except ValidationError as exc:
            problems += _messages(exc, name)
    for name, limit in _LIMITS.items():
        if len(str(values[name])) > limit:
            problems.append(f"{name}: longer than {limit} characters")
    if problems:
        raise ValidationError(problems)
    return values


class UserSync:
    """One run's users: what is stored, what was seen, what to write next."""

    def __init__(self, *, amap: AttributeMap, meta: RequestMeta) -> None:
        self.amap, self.meta = amap, meta
        self.now = clock.now()
        self.counts = UserCounts()
        rows = User.objects.filter(source=UserSource.SYNCED).values_list("pk", *MAPPED_FIELDS)
        self.stored: dict[str, tuple] = {r[-1].lower(): r for r in rows}
        phones = MAPPED_FIELDS.index("mobile_phone") + 1, MAPPED_FIELDS.index("office_phone") + 1
        self.known_phones = frozenset(r[i] for r in self.stored.values() for i in phones if r[i])
        self.keys: dict[str, tuple[int | None, str]] = {
            key: (pk, source)
            for pk, key, source in User.objects.values_list("pk", "user_id_key", "source")
        }
        self._creates: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._transitions: list[tuple[User, bool]] = []
        #: Created by this run and not yet reported as changed (``mark_created``).
        self.created: set[int] = set()

    def add(self, entry: Entry) -> None:
        counts = self.counts
        counts.read += 1
        dn_key = entry.dn.lower()
        counts.seen.add(dn_key)
        stamp = entry.attributes.get("modifytimestamp")
        if stamp and stamp[0].decode("ascii", "replace") > counts.newest_timestamp:
            counts.newest_timestamp = stamp[0].decode("ascii", "replace")
        try:
            mapped = map_user(entry.dn, entry.attributes, self.amap)
            values = validated(mapped, self.known_phones)
            self._place(dn_key, values)
        except MappingError as exc:
            counts.errors.append(EntryError(entry.dn, (str(exc),)))
        except ValidationError as exc:
            counts.errors.append(EntryError(entry.dn, tuple(exc.messages)))
        if len(self._creates) + len(self._updates) >= BATCH:
            self.flush()

    def _place(self, dn_key: str, values: dict[str, object]) -> None:
        key = identifier_key(str(values["user_id"]))
        row = self.stored.get(dn_key)
        owner = self.keys.get(key)
        if row is None and owner is not None and owner[1] == UserSource.SYNCED and owner[0]:
            row = next((r for r in self.stored.values() if r[0] == owner[0]), None)  # moved
            if row is not None:
                self.counts.seen.add(row[-1].lower())  # its old DN is not "gone"
        if owner is not None and (row is None or owner[0] != row[0]):
            if owner[1] != UserSource.SYNCED:
                raise ValidationError(
                    "user ID: a cloud user with this user ID exists; it is not taken over"
                )
            raise ValidationError("user ID: another directory entry has this user ID")
        if row is None:
            self._create(key, values)
            return
        old = dict(zip(MAPPED_FIELDS, row[1:], strict=True))
        changed = [name for name in MAPPED_FIELDS if old[name] != values[name]]
        if not changed:
            self.counts.unchanged += 1
            return
        self._updates.append({**values, "user_id_key": key, "pk": row[0]})
        if old["account_enabled"] != values["account_enabled"]:
            user = User(pk=row[0], user_id=str(values["user_id"]))  # the audit target
            self._transitions.append((user, bool(values["account_enabled"])))
        if old["user_id"] != values["user_id"]:
            self.keys.pop(identifier_key(str(old["user_id"])), None)
            self.keys[key] = (row[0], UserSource.SYNCED)

    def _create(self, key: str, values: dict[str, object]) -> None:
        # Unusable, as make_password(None) makes it, without 40 random.choice calls per user.
        password = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
        self._creates.append({**values, "user_id_key": key, "password": password})
        self.keys[key] = (None, UserSource.SYNCED)

    def flush(self) -> None:
        if not (self._creates or self._updates):
            return
        with transaction.atomic():
            if self._creates:
                self.created.update(insert_users(self._creates, created_at=self.now))
            if self._updates:
                update_users(self._updates)
                people_changed.send(sender=User, user_ids=[row["pk"] for row in self._updates])
            self._audit_transitions(self._transitions, reason="directory_state")
        self.counts.created += len(self._creates)
        self.counts.updated += len(self._updates)
        self._creates, self._updates, self._transitions = [], [], []

    def mark_created(self) -> None:
        """Report this run's new people as changed, once, after their groups and roles are set.

        Reported at creation, most would be reported again when their groups'
        members are set: two writes of their ``RegistrationStatus`` row each,
        a sixth of a first sync's time on PostgreSQL. Until this runs they have
        no row, so no worker decides them half-synced. A run that died before
        this (a killed process) left its new people without one: each run also
        reports the synced people who still have none.
        """
        rowless = User.objects.filter(source=UserSource.SYNCED, registration_status__isnull=True)
        created = sorted(self.created.union(rowless.values_list("pk", flat=True)))
        self.created = set()
        if created:
            people_changed.send(sender=User, user_ids=created)

    def _audit_transitions(self, changes: Iterable[tuple[User, bool]], *, reason: str) -> None:
        """Enabling or disabling an account is a change people ask about: one event each."""
        for user, enabled in changes:
            if enabled:
                self.counts.enabled += 1
            else:
                self.counts.disabled += 1
            record_event(
                activity=Activity.DIRECTORY_SYNC_USER_ENABLED
                if enabled
                else Activity.DIRECTORY_SYNC_USER_DISABLED,
                outcome=Outcome.SUCCESS,
                meta=self.meta,
                target=user,
                reason=reason,
            )

    def disable_missing(self) -> None:
        """Full runs only: synced users whose entry wasn't read are disabled here."""
        gone = [
            row[0]
            for dn_key, row in self.stored.items()
            if dn_key not in self.counts.seen and row[MAPPED_FIELDS.index("account_enabled") + 1]
        ]
        for start in range(0, len(gone), BATCH):
            chunk = gone[start : start + BATCH]
            with transaction.atomic():
                User.objects.filter(pk__in=chunk).update(account_enabled=False)
                people_changed.send(sender=User, user_ids=chunk)
                users = list(User.objects.filter(pk__in=chunk))
                self._audit_transitions(((u, False) for u in users), reason="not_in_directory")

    def dn_index(self) -> dict[str, int]:
        """DN key -> user pk of every synced user, after this run's writes."""
        rows = User.objects.filter(source=UserSource.SYNCED).values_list("pk", "on_premises_dn")
        return {dn.lower(): pk for pk, dn in rows}


def insert_users(rows: list[dict[str, Any]], *, created_at: datetime) -> list[int]:
    """Insert new synced users in one go (``write_rows``); their pks, read back by user ID.

    ``bulk_create`` compiles every field of every row (about 0.3 ms a user, more
    than reading the entry costs); here the unmapped columns get their model
    default, prepared once, and the mapped ones are plain strings and booleans.
    COPY can't say which pks it gave. (Taking them from the sequence first cost
    the server as much as reading them back: ``nextval`` is about 4 µs a call.)
    """
    fields = [f for f in User._meta.concrete_fields if not f.primary_key]
    fixed: dict[str, object] = {"source": UserSource.SYNCED, "created_at": created_at}
    prepared = {
        f.name: f.get_db_prep_save(fixed.get(f.name, f.get_default()), connection)
        for f in fields
        if f.name not in rows[0]
    }
    write_rows(
        User._meta.db_table,
        [column_of(User, f.name) for f in fields],
        [[row[f.name] if f.name in row else prepared[f.name] for f in fields] for row in rows],
    )
    return _pks_of([row["user_id_key"] for row in rows])


def _pks_of(keys: list[str]) -> list[int]:
    """The pks of the users with these ``user_id_key`` values (one array on PostgreSQL)."""
    quote = connection.ops.quote_name
    where, params = one_of(User._meta.get_field("user_id_key"), keys)
    table = quote(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('id')} FROM {table} WHERE {where}", params)  # noqa: S608 - model names
        return [pk for (pk,) in cursor.fetchall()]


def write_rows(table: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Insert ``rows``: COPY on PostgreSQL, one ``executemany`` elsewhere.

    Table and column names come from the models, never from the directory.
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608 - model names


def column_of(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    column = field.get_attname_column()[1] if isinstance(field, models.Field) else None
    if not column:
        raise TypeError(f"{name} is not a column")
    return column


def update_users(rows: list[dict[str, Any]]) -> None:
    """Write the mapped fields of changed users with one ``executemany``.

    ``bulk_update`` builds a CASE per field per row (about 3 ms a user); sync
    writes the same columns for every row, so one prepared UPDATE does.
    """
    names = [*MAPPED_FIELDS, "user_id_key"]
    columns = [column_of(User, n) for n in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
    table = quote(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s",  # noqa: S608 - names from the model
            [[row[n] for n in names] + [row["pk"]] for row in rows],
        )


def sync_entries(
    entries: Iterable[Entry], users: UserSync, progress: Callable[[int], None] | None
) -> None:
    for entry in entries:
        users.add(entry)
        if progress:
            progress(users.counts.read)
    users.flush()


@transaction.atomic
def create_synced_user(*, data: UserData, dn: str, meta: RequestMeta) -> User:
    """One directory entry's user, created outside a run (tests, the demo).

    ``create_user`` refuses synchronised users (only sync sets a source and a DN);
    this is sync's own door, with the same audit trail as a cloud user's creation.
    """
    user = create_user(data=replace(data, source=UserSource.CLOUD, on_premises_dn=""), meta=meta)
    User.objects.filter(pk=user.pk).update(source=UserSource.SYNCED, on_premises_dn=dn)
    people_changed.send(sender=User, user_ids=[user.pk])  # synced: writeback now decides
    user.refresh_from_db()
    return user
