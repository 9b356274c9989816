"""``core.sql.one_of`` selects what ``IN`` selects, on SQLite (a list) and PostgreSQL (an array)."""

from collections.abc import Callable

import pytest
from django.db import connection

from opensspr.accounts.models import User
from opensspr.core.sql import one_of

pytestmark = pytest.mark.django_db


def _ids_where(field_name: str, values: list[object]) -> set[int]:
    field = User._meta.get_field(field_name)
    where, params = one_of(field, values)
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {where}", params)  # noqa: S608 - model names
        return {pk for (pk,) in cursor.fetchall()}


def test_one_of_matches_pks_and_text_keys_like_in(user_factory: Callable[..., User]) -> None:
    users = [user_factory() for _ in range(3)]
    wanted = [users[0].pk, users[2].pk, 10**12]  # a bigint no user has
    assert _ids_where("id", wanted) == {users[0].pk, users[2].pk}
    keys = [users[1].user_id_key, "nobody@contoso.example"]
    assert _ids_where("user_id_key", keys) == {users[1].pk}


def test_one_of_is_one_array_parameter_on_postgresql() -> None:
    where, params = one_of(User._meta.pk, [1, 2, 3])
    if connection.vendor == "postgresql":
        assert where == '"id" = ANY(%s::bigint[])'
        assert params == [[1, 2, 3]]
    else:
        assert where == '"id" IN (%s, %s, %s)'
        assert params == [1, 2, 3]
