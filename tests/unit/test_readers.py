"""Readers never wait for writers: while another process holds the write lock (a long
import), `list`, `show`, `find` and the other read-only commands answer — before the lock
is let go, not after — and the one write a start-up may need (the very first user of an
empty database) still happens exactly once."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.write_lock import PG_CHILD_ENV, write_lock_held
from tui_crm.db import models as m
from tui_crm.services.core import identity, records, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.planning import reminders


@dataclass
class Base:
    target: str
    ours: int  # an organization of the admin's
    hers: int  # one of anna's, a manager who sees only her own records


@pytest.fixture
def base(db, db_target: str, actor: Actor) -> Base:
    users.add_user(actor, "anna", role="manager")
    anna = users.actor_for("anna")
    ours = records.create(actor, "organizations", {"name": "Ромашка", "source": "Website"})
    hers = records.create(actor, "organizations", {"name": "Гамма Сервис", "source": "Website",
                                                   "owner": anna.user_id})
    db.close()  # the commands run as processes of their own
    return Base(db_target, ours.id, hers.id)


def _cli(tmp_path: Path, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUI_CRM_DATA_DIR": str(tmp_path / "data"),
           "TUI_CRM_CONFIG_DIR": str(tmp_path / "config"), "TUI_CRM_LANG": "en",
           **PG_CHILD_ENV}
    env.pop("TUI_CRM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tui_crm", "--db", target, *args, "--json"],
                          capture_output=True, text=True, env=env, timeout=120)


def _names(rows: list[dict[str, Any]]) -> set[str]:
    return {row["name"] for row in rows}


def _titles(hits: list[dict[str, Any]]) -> set[str]:
    return {hit["title"] for hit in hits}


# (command line, what its JSON output must show); `{ours}` / `{hers}` are record ids.
READS: list[tuple[list[str], Callable[[Any], bool]]] = [
    (["list", "organizations"],
     lambda out: _names(out["rows"]) == {"Ромашка", "Гамма Сервис"}),
    (["show", "organizations", "{ours}"], lambda out: out["name"] == "Ромашка"),
    (["find", "Ромашка"], lambda out: _titles(out) == {"Ромашка"}),  # the sqlite3 fast path
    (["find", "Ромашка", "--section", "organizations"], lambda out: _titles(out) == {"Ромашка"}),
    # anna sees only her own: the full path, rights and visibility included.
    (["--user", "anna", "list", "organizations"],
     lambda out: _names(out["rows"]) == {"Гамма Сервис"}),
    (["--user", "anna", "show", "organizations", "{hers}"],
     lambda out: out["name"] == "Гамма Сервис"),
    (["--user", "anna", "find", "Сервис"], lambda out: _titles(out) == {"Гамма Сервис"}),
    (["--user", "anna", "find", "Ромашка"], lambda out: out == []),
    (["today"], lambda out: isinstance(out, dict)),
    (["followups"], lambda out: isinstance(out, list)),
    (["reminders", "--due"], lambda out: out == []),
    (["report", "department"], lambda out: out["report"] == "department"),
    (["user", "list"], lambda out: {u["login"] for u in out} >= {"anna"}),
]


@pytest.mark.parametrize("command, expected", READS,
                         ids=[" ".join(args) for args, _check in READS])
def test_a_read_only_command_answers_while_another_process_holds_the_write_lock(
        base: Base, tmp_path: Path, command: list[str], expected: Callable[[Any], bool],
) -> None:
    args = [a.format(ours=base.ours, hers=base.hers) for a in command]
    with write_lock_held(base.target) as holder:
        done = _cli(tmp_path, base.target, *args)
        assert done.returncode == 0, done.stderr
        assert expected(json.loads(done.stdout)), done.stdout
        # It answered while the lock was still held: it did not wait for the writer.
        assert holder.still_held()


def test_nothing_a_reader_does_is_written(base: Base, tmp_path: Path) -> None:
    """The read path writes nothing (no audit entry, no user row): checked after the fact."""
    from tui_crm.db import open_database

    db = open_database(base.target)
    before = (m.AuditLog.select().count(), m.User.select().count())
    db.close()
    for command, _expected in READS:
        args = [a.format(ours=base.ours, hers=base.hers) for a in command]
        assert _cli(tmp_path, base.target, *args).returncode == 0
    db = open_database(base.target)
    assert (m.AuditLog.select().count(), m.User.select().count()) == before
    db.close()


def test_opening_a_current_database_writes_nothing_and_waits_for_no_writer(
        db, db_target: str, actor: Actor) -> None:
    from tui_crm.db import open_database
    from tui_crm.db.database import is_sqlite

    db.close()
    with write_lock_held(db_target) as holder:
        again = open_database(db_target)  # checks the schema version: a read
        assert users.resolve_actor() == actor
        if is_sqlite(again):
            assert again.connection().total_changes == 0  # not a row written on this start
        assert holder.still_held()
    again.close()


# --- reminders: claimed when the database is free, never waited for ----------------------------


def test_a_reminder_is_not_waited_for_while_another_process_writes(
        db, db_target: str, actor: Actor) -> None:
    now = dt.datetime.now().replace(second=0, microsecond=0)
    org = records.create(actor, "organizations", {"name": "Ромашка", "source": "Website"})
    records.create(actor, "events", {
        "event_type": "call", "starts_at": f"{now + dt.timedelta(minutes=10):%Y-%m-%d %H:%M}",
        "organization": org.id, "assignee": actor.user_id, "reminder_minutes": "15"})
    # Shorter than `write`'s retries (~21 s): code that waited would see the lock let go.
    with write_lock_held(db_target, seconds=10) as holder:
        assert reminders.claim_due(actor, now=now) == []
        assert holder.still_held()
    # Not lost: the next check, with the database free, claims and shows it.
    [shown] = reminders.claim_due(actor, now=now)
    assert shown.event_id is not None
    assert reminders.claim_due(actor, now=now) == []  # and only once


# --- the first run: two sessions at once on an empty database ----------------------------------


def _first_session(target: str, barrier: Any) -> tuple[int, str, str]:
    from tui_crm.db import open_database
    from tui_crm.i18n import set_language
    from tui_crm.services.core import users as usrs

    set_language("en")
    barrier.wait(60)
    db = open_database(target)
    actor = usrs.resolve_actor()
    db.close()
    return actor.user_id, actor.login, actor.role


def test_two_first_sessions_at_once_become_the_same_admin(db_target: str) -> None:
    """On SQLite the file does not exist yet (both also create and migrate it); on
    PostgreSQL the database is migrated but has no users."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        barrier = manager.Barrier(2)
        results = pool.starmap(_first_session, [(db_target, barrier)] * 2)
    assert results[0] == results[1]
    assert results[0][1] == identity.os_login() and results[0][2] == "admin"
    from tui_crm.db import open_database
    from tui_crm.db.models import database_proxy

    db = open_database(db_target)
    try:
        assert [u.login for u in m.User.select()] == [identity.os_login()]
        created = m.AuditLog.select().where((m.AuditLog.kind == "users")
                                            & (m.AuditLog.action == "create"))
        assert created.count() == 1
    finally:
        db.close()
        database_proxy.initialize(None)


def test_a_second_os_account_is_not_made_admin_by_starting(
        db, actor: Actor, monkeypatch: pytest.MonkeyPatch, row_counts) -> None:
    """Only an empty database registers whoever starts it; otherwise nothing is written."""
    from tui_crm.errors import PermissionDenied
    from tui_crm.services.core.identity import Invocation

    before = row_counts()
    with pytest.raises(PermissionDenied):
        users.resolve_actor(invocation=Invocation("stranger"))
    assert row_counts() == before
