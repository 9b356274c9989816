"""The embedded engine converts Django's placeholders for sqlite3 once per text (core/sqlite)."""

from opensspr.core.sqlite.base import _REMEMBERED_TEXT, DatabaseWrapper, _remembered


def test_placeholders_are_converted_alike_the_first_time_and_after(
    database: DatabaseWrapper,
) -> None:
    """``%s`` becomes a parameter and ``%%`` a literal percent, from the remembered text too."""
    for _ in range(2):
        with database.cursor() as cursor:
            cursor.execute("SELECT '100%%' || %s || %s", ["a", "%s"])
            assert cursor.fetchone() == ("100%a%s",)
            cursor.execute("SELECT %(x)s || '%%'", {"x": "b"})  # named: Django's own way
            assert cursor.fetchone() == ("b%",)
    assert _remembered.cache_info().hits >= 1


def test_a_long_text_is_converted_but_not_remembered(database: DatabaseWrapper) -> None:
    """A bulk statement's text would hold memory for the life of the process."""
    values = ", ".join(["(%s)"] * (_REMEMBERED_TEXT // 4))
    query = f"SELECT count(*) FROM (VALUES {values})"  # noqa: S608  # placeholders only
    remembered = _remembered.cache_info().currsize
    with database.cursor() as cursor:
        cursor.execute(query, list(range(_REMEMBERED_TEXT // 4)))
        assert cursor.fetchone() == (_REMEMBERED_TEXT // 4,)
    assert _remembered.cache_info().currsize == remembered
