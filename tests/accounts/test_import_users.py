"""CSV import: good rows kept, bad rows reported, nothing half-written."""

import subprocess
import sys
import textwrap

import pytest
from django.core.management import call_command

from opensspr.accounts.models import Group, User
from opensspr.accounts.services import create_group

pytestmark = pytest.mark.django_db

HEADER = "user_id,display_name,given_name,surname,email,auth_email,mobile_phone,groups,roles,account_enabled\n"


def _write(tmp_path, body, header=HEADER):
    path = tmp_path / "users.csv"
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return path


def _run(path, *args):
    try:
        call_command("import_users", str(path), *args)
    except SystemExit as exc:
        return exc.code
    return 0


def test_good_rows_are_kept_and_bad_rows_reported(tmp_path, meta, capsys):
    create_group(name="Sales", meta=meta)
    path = _write(
        tmp_path,
        """\
        anna@contoso.example,Anna A,Anna,A,anna@contoso.example,anna@mail.example,+31 6 12345678,Sales,,true
        bad id,Bad Id,,,,,,,,
        bert@contoso.example,Bert B,,,not-an-email,,,,,
        carl@contoso.example,Carl C,,,,,+31 6 1234,,,
        dora@contoso.example,Dora D,,,,,,NoSuchGroup,,
        erik@contoso.example,Erik E,,,,,,,wizard,
        fay@contoso.example,Fay F,,,,,,,,maybe
        ANNA@contoso.example,Anna again,,,,,,,,
        gus@contoso.example,,,,,,,,,
        hana@contoso.example,Hana H,,,,,,,helpdesk_admin,no
    """,
    )
    assert _run(path) == 1
    out = capsys.readouterr().out
    assert "2 users imported; 8 rows rejected." in out
    for line, fragment in [
        (3, "user_id"),
        (4, "email"),
        (5, "mobile_phone"),
        (6, "NoSuchGroup"),
        (7, "wizard"),
        (8, "account_enabled"),
        (9, "already exists"),
        (10, "display_name"),
    ]:
        assert any(f"line {line}" in row and fragment in row for row in out.splitlines()), line
    anna = User.objects.get(user_id="anna@contoso.example")
    assert anna.mobile_phone == "+31612345678"
    assert list(anna.directory_groups.values_list("name", flat=True)) == ["Sales"]
    hana = User.objects.get(user_id="hana@contoso.example")
    assert hana.admin_roles == {"helpdesk_admin"} and not hana.account_enabled
    assert not hana.has_usable_password()
    # Nothing half-written: the row with an unknown group left no user behind.
    assert not User.objects.filter(user_id="dora@contoso.example").exists()
    assert User.objects.count() == 2


def test_bad_header_imports_nothing(tmp_path, capsys):
    path = _write(
        tmp_path, "zoe@contoso.example,Zoe,x\n", header="user_id,display_name,shoe_size\n"
    )
    with pytest.raises(Exception, match="unknown columns: shoe_size"):
        call_command("import_users", str(path))
    assert User.objects.count() == 0


def test_dry_run_validates_without_writing(tmp_path, capsys):
    path = _write(tmp_path, "zoe@contoso.example,Zoe Z,,,,,,,,\n")
    assert _run(path, "--dry-run") == 0
    assert "1 user would be imported" in capsys.readouterr().out
    assert User.objects.count() == 0
    assert Group.objects.count() == 0


def test_surplus_cells_are_reported(tmp_path, capsys):
    path = _write(tmp_path, "zoe@contoso.example,Zoe Z,,,,,,,,,extra\n")
    assert _run(path) == 1
    assert "more cells" in capsys.readouterr().out


def test_the_console_command_prints_a_progress_bar(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("user_id,display_name\nzed@contoso.example,Zed\n")
    # Run the real console entry point in a subprocess against a throwaway SQLite database.
    env = {
        "OPENSSPR_SECRET_KEY": "x" * 40,
        "OPENSSPR_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    subprocess.run([sys.executable, "-m", "opensspr", "migrate", "-v0"], env=env, check=True)
    done = subprocess.run(
        [sys.executable, "-m", "opensspr", "import-users", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1/1 rows" in done.stderr and "1 user imported; 0 rows rejected." in done.stdout
