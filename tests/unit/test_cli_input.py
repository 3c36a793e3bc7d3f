"""Whatever is typed on the command line ends in a one-line message, never in "internal
error" (exit 70) or a traceback: bytes of another encoding, numbers no column can hold, a
database the account may not open, and — swept by hypothesis — arbitrary text in the
arguments of the main commands, on a real database."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_crm.cli.main import EXIT_INTERNAL, main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | bytes, db: Path, user_env: dict[str, str] | None = None,
        prefix: list[str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """`python -m tui_crm` as a real process (arguments may be raw bytes)."""
    env = {**os.environ, "TUI_CRM_LANG": "en", "PYTHONPATH": str(ROOT), **(user_env or {})}
    env.pop("TUI_CRM_DEBUG", None)
    return subprocess.run([*(prefix or []), sys.executable, "-m", "tui_crm", "--db", str(db),
                           *args], capture_output=True, env=env, timeout=120)


def one_line(result: subprocess.CompletedProcess[bytes]) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode not in (0, EXIT_INTERNAL), err
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, err
    return err


@pytest.fixture
def dbfile(tmp_path: Path) -> Path:
    path = tmp_path / "crm.sqlite3"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--db", str(path), "add", "organizations", "name=Ромашка",
                     "source=Website"]) == 0
    return path


# --- bytes of another encoding ----------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["list", "organizations", "--query", b"\xcf\xf0\xe8"],  # "При" in Windows-1251
    ["add", "organizations", b"name=\xcf\xf0\xe8", "source=Website"],
    ["find", b"\xd0\xee\xec\xe0\xf8\xea\xe0"],
])
def test_arguments_in_windows_1251_are_a_clear_message(dbfile: Path, args: list) -> None:  # noqa: ANN001
    before = dbfile.read_bytes()
    err = one_line(run(*args, db=dbfile))
    assert "is not UTF-8 text" in err and ("\\xcf" in err or "\\xd0" in err)
    assert dbfile.read_bytes() == before


# --- numbers no column holds ------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["list", "organizations", "--offset", "99999999999999999999"],
    ["list", "organizations", "--limit", "99999999999999999999"],
    ["find", "Ромашка", "--limit", "99999999999999999999"],
    ["history", "organizations", "1", "--limit", "99999999999999999999"],
    ["edit", "organizations", "1", "city=Тверь", "--version", "99999999999999999999"],
    ["audit", "--id", "99999999999999999999"],
    ["audit", "--limit", "-99999999999999999999"],
    ["mail", "send", "1", "--rate", "nan"],
])
def test_numbers_beyond_a_column_are_a_usage_message(dbfile: Path, capsys,  # noqa: ANN001
                                                     args: list[str]) -> None:
    assert main(["--db", str(dbfile), *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "too large" in err or "too small" in err or "not a usable number" in err


@pytest.mark.parametrize("args", [
    ["today", "--date", "9999-12-31"],
    ["plan", "--date", "31.12.9999"],
    ["add", "tasks", "title=T", "due_at=9999-12-31 23:59"],
    ["add", "contacts", "last_name=П", "birthday=01.01.0001"],
    ["list", "events", "--filter", "starts_at=+7000y"],
])
def test_dates_at_the_ends_of_the_calendar_are_a_clear_message(dbfile: Path, capsys,  # noqa: ANN001
                                                               args: list[str]) -> None:
    assert main(["--db", str(dbfile), *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "out of range" in err


def test_a_typed_date_at_the_end_of_the_calendar_is_refused(dbfile: Path) -> None:
    import datetime as dt

    from tui_crm.db import open_database
    from tui_crm.errors import ValidationError
    from tui_crm.services.core import records, users

    database = open_database(dbfile)
    try:
        with pytest.raises(ValidationError, match="out of range"):
            records.create(users.resolve_actor(), "tasks", {
                "title": "T", "due_at": dt.datetime(9999, 12, 31, 23, 59)})
    finally:
        database.close()


# --- an account that may not open the database ------------------------------------------------


def _outsider() -> list[str]:
    """The command prefix of a process without the right to read others' files: as root,
    the same uid without the capabilities that override file modes (setpriv); otherwise
    the test's own account, which mode 000 keeps out as it keeps out anyone."""
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"] \
        if os.geteuid() == 0 else []


@pytest.mark.parametrize("command", [["list", "organizations"], ["find", "Ромашка"],
                                     ["init"], ["show", "organizations", "1"]])
def test_a_database_one_may_not_read_is_a_clear_message(dbfile: Path, tmp_path: Path,
                                                        command: list[str]) -> None:
    dbfile.chmod(0o000)
    locked = tmp_path / "locked"
    locked.mkdir()
    inside = locked / "crm.sqlite3"
    inside.write_bytes(b"")
    locked.chmod(0o000)
    try:
        for target in (dbfile, inside, locked / "new.sqlite3"):
            err = one_line(run(*command, db=target, prefix=_outsider()))
            assert "permission" in err.lower(), err
    finally:
        locked.chmod(0o700)
        dbfile.chmod(0o600)


# --- the sweep --------------------------------------------------------------------------------

SPECIALS = ["", " ", "-", "--", "-1", "0", "#1", "1", "2", "99999999999999999999",
            "-99999999999999999999", "1e999", "nan", "inf", "1,5", "%s", "%(x)s", "{}", "{0}",
            "{x}", "'", '"', "\\", "\x00", "\x1b[2J", "\u202e", "\ud800", "\udccf",
            "FREQ=SECONDLY", "FREQ=DAILY;INTERVAL=0", "=", "a=b", "phone:x=1", "*", "?",
            "ёЁ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "../x", "/", "31.02.2026", "tomorrow 25:00", "+99999d",
            "2026-13-01", "admin", "manager", "yes", "no", "..", "2026-01..2025-12"]
TEXT = st.one_of(st.sampled_from(SPECIALS),
                 st.text(alphabet=st.characters(blacklist_categories=()), max_size=12),
                 st.integers().map(str),
                 st.floats(allow_nan=True, allow_infinity=True).map(str))
VALID_SECTIONS = st.sampled_from(["organizations", "contacts", "events", "tasks", "deals",
                                  "payments", "services", "notes", "links", "клиенты"])
# Mostly valid words (so the commands get past their first check), sometimes anything.
SECTIONS = st.one_of(VALID_SECTIONS, VALID_SECTIONS, VALID_SECTIONS, TEXT)
IDS = st.one_of(st.sampled_from(["1", "2", "#1", "3"]), TEXT)
DATES = st.one_of(st.sampled_from(["2026-01-15", "tomorrow", "31.12.2026", "пятница"]), TEXT)
WORDS = st.one_of(st.sampled_from([
    "activity", "department", "manager", "meetings", "audit", "sources", "visits",
    "payments", "birthdays", "followups", "reached_dm", "call", "admin", "anna"]), TEXT)
FIELDS = st.sampled_from(["name", "inn", "city", "website", "phone", "email", "tag",
                          "status", "category", "owner", "source", "cadence_days",
                          "last_name", "birthday", "organization", "title", "starts_at",
                          "ends_at", "event_type", "rrule", "reminder_minutes", "amount",
                          "units", "date", "due_at", "url", "nosuchfield"])


def _commands(out: Path) -> st.SearchStrategy[list[str]]:
    t, s, f, i, d, w = TEXT, SECTIONS, FIELDS, IDS, DATES, WORDS
    assign = st.builds(lambda name, value: f"{name}={value}", f, t)
    shapes = [
        st.builds(lambda s, t: ["list", s, "--query", t], s, t),
        st.builds(lambda s, a: ["list", s, "--filter", a], s, assign),
        st.builds(lambda s, t: ["list", s, "--sort", t, "--desc"], s, t),
        st.builds(lambda t, u: ["list", "organizations", "--offset", t, "--limit", u], t, t),
        st.builds(lambda t: ["find", t], t),
        st.builds(lambda t, s: ["find", t, "--section", s], t, s),
        st.builds(lambda s, i: ["show", s, i], s, i),
        st.builds(lambda s, i: ["history", s, i], s, i),
        st.builds(lambda s, a: ["add", s, *a], s, st.lists(assign, max_size=3)),
        st.builds(lambda s, i, a: ["edit", s, i, a], s, i, assign),
        st.builds(lambda t, a: ["edit", "organizations", "1", a, "--version", t], t, assign),
        st.builds(lambda s, i: ["delete", s, i], s, i),
        st.builds(lambda s, i: ["restore", s, i], s, i),
        st.builds(lambda a: ["duplicates", "organizations", a], assign),
        st.builds(lambda s: ["fields", s], s),
        st.builds(lambda d: ["today", "--date", d], d),
        st.builds(lambda t: ["followups", "--limit", t], t),
        st.builds(lambda d: ["plan", "--date", d], d),
        st.builds(lambda i, w, d: ["log", i, "--result", w, "--next", d], i, w, d),
        st.builds(lambda s, i, w: ["audit", "--section", s, "--id", i, "--login", w], s, i, w),
        st.builds(lambda s, t: ["export", s, "--format", "csv", "-o", str(out), "--query", t],
                  s, t),
        st.builds(lambda w, d, e: ["report", w, "--from", d, "--to", e], w, d, d),
        st.builds(lambda t: ["segment", "--period", t], t),
        st.builds(lambda s: ["dedupe", "--section", s], s),
        st.builds(lambda i, j: ["merge", "organizations", i, j, "--dry-run"], i, i),
        st.builds(lambda i, t: ["deal-move", i, "--reason", t], i, t),
        st.builds(lambda i: ["money", i], i),
        st.builds(lambda d, t: ["journal", "--date", d, "--late", t], d, t),
        st.builds(lambda w: ["user", "add", w], w),
        st.builds(lambda w, t: ["user", "set", w, f"role={t}"], w, t),
        st.builds(lambda w: ["user", "disable", w], w),
        st.builds(lambda i: ["mail", "status", i], i),
        st.builds(lambda w, i: ["mail", "template", "preview", w, "--to", i], w, i),
        st.builds(lambda w: ["--user", w, "list", "organizations"], w),
        st.builds(lambda t: ["--lang", t, "list", "organizations"], t),
        st.builds(lambda t: [t], t),
    ]
    return st.one_of(shapes)


@pytest.fixture
def swept(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A real database with a record of each kind the commands above touch."""
    db = tmp_path / "sweep.sqlite3"
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet, contextlib.redirect_stderr(io.StringIO()):
        for args in (["add", "organizations", "name=Ромашка", "source=Website",
                      "phone=+7 916 123-45-67"],
                     ["add", "contacts", "last_name=Иванов", "organization=1"],
                     ["add", "events", "event_type=call", "starts_at=tomorrow 10:00",
                      "organization=1", "rrule=FREQ=WEEKLY"],
                     ["add", "deals", "title=Поставка", "organization=1", "amount=100"],
                     ["add", "payments", "date=2026-01-15", "amount=100", "organization=1"],
                     ["add", "notes", "title=Заметка"]):
            assert main(["--db", str(db), *args]) == 0
    yield db, tmp_path / "export.csv"


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_input_ends_in_an_internal_error(swept: tuple[Path, Path], data) -> None:  # noqa: ANN001
    db, out = swept
    args = data.draw(_commands(out))
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["--db", str(db), *args])
    printed = stdout.getvalue() + stderr.getvalue()
    assert code != EXIT_INTERNAL, (args, printed)
    assert "Traceback" not in printed and "internal error" not in printed, (args, printed)
    if code != 0:
        assert stderr.getvalue().count("\n") == 1, (args, printed)
