"""Team work on one server: backups while others write, restore, rotation, handing clients
over, and the shared-folder checks."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import time
from pathlib import Path

import pytest

from tui_crm.db import open_database
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.services.core import audit, reassign, records, shared_files, users
from tui_crm.services.ops import backup


@pytest.fixture
def team(tmp_path):
    path = tmp_path / "team.sqlite3"
    open_database(path)
    admin = users.resolve_actor()
    users.add_user(admin, "anna", role="manager")
    users.add_user(admin, "boris", role="manager")
    users.add_user(admin, "head", role="head")
    return path, admin


@pytest.fixture
def team_any(db):
    """The same users on either backend (SQLite file or PostgreSQL)."""
    admin = users.resolve_actor()
    for login, role in (("anna", "manager"), ("boris", "manager"), ("head", "head")):
        users.add_user(admin, login, role=role)
    return admin


def _writer(path: str, seconds: float, ready) -> None:  # noqa: ANN001 - an mp.Event
    from tui_crm.db import open_database
    from tui_crm.services.core import records, users

    open_database(path)
    actor = users.actor_for("anna")
    ready.set()
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        records.create(actor, "notes", {"title": f"note {n}", "body": "x" * 200})
        n += 1


def test_backup_while_another_process_writes_is_intact_and_restores(team, tmp_path):
    path, admin = team
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    writer = ctx.Process(target=_writer, args=(str(path), 3.0, ready))
    writer.start()
    assert ready.wait(30)
    time.sleep(0.5)
    folder = tmp_path / "copies"
    folder.mkdir()
    result = backup.backup(admin, folder)
    writer.join(60)
    assert writer.exitcode == 0
    assert backup.integrity_ok(result.path)
    copied = sqlite3.connect(result.path).execute("SELECT COUNT(*) FROM note").fetchone()[0]
    assert copied > 0
    live = records.count(admin, "notes")
    assert live >= copied
    # Restoring brings the database back to the copy's content.
    backup.restore(admin, result.path)
    assert records.count(admin, "notes") == copied
    assert audit.history(action="restore")


def test_backup_rotation_keeps_newest(team, tmp_path):
    _path, admin = team
    import datetime as dt

    folder = tmp_path / "rot"
    folder.mkdir()
    for minute in range(4):
        backup.backup(admin, folder, keep=2, now=dt.datetime(2026, 11, 27, 3, minute))
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["tui-crm-20261127-030200.sqlite3", "tui-crm-20261127-030300.sqlite3"]


def test_backup_refuses_bad_targets_and_managers(team, tmp_path):
    path, admin = team
    with pytest.raises(ValidationError):
        backup.backup(admin, tmp_path / "missing" / "x.sqlite3")
    existing = tmp_path / "exists.sqlite3"
    existing.write_bytes(b"")
    with pytest.raises(ValidationError):
        backup.backup(admin, existing)
    with pytest.raises(PermissionDenied):
        backup.backup(users.actor_for("anna"), tmp_path)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValidationError):
        backup.restore(admin, junk)
    assert path.exists()


def test_reassign_moves_clients_tasks_and_planned_events(team_any):
    admin = team_any
    anna = users.actor_for("anna")
    org = records.create(anna, "organizations", {"name": "Ромашка", "source": "Website"})
    contact = records.create(anna, "contacts", {"last_name": "Иванов", "organization": org.id})
    task = records.create(anna, "tasks", {"title": "Позвонить", "organization": org.id})
    done_task = records.create(anna, "tasks", {"title": "Старое", "status": "done"})
    planned = records.create(anna, "events", {"event_type": "call", "organization": org.id,
                                              "starts_at": "2030-01-10 10:00"})
    past = records.create(anna, "events", {"event_type": "call", "organization": org.id,
                                           "starts_at": "2020-01-10 10:00", "status": "done"})
    with pytest.raises(PermissionDenied):
        reassign.reassign(anna, "anna", "boris")
    with pytest.raises(ValidationError):
        reassign.reassign(admin, "anna", "anna")
    moved = reassign.reassign(users.actor_for("head"), "anna", "boris")
    assert moved.to_dict() == {"organizations": 1, "contacts": 1, "deals": 0, "tasks": 1,
                               "events": 1}
    boris = users.actor_for("boris")
    assert records.get(boris, "organizations", org.id).display["owner"] == "boris"
    assert records.get(boris, "contacts", contact.id).values["owner"] == boris.user_id
    assert records.get(boris, "tasks", task.id).values["assignee"] == boris.user_id
    assert records.get(admin, "tasks", done_task.id).values["assignee"] == anna.user_id
    assert records.get(boris, "events", planned.id).values["assignee"] == boris.user_id
    assert records.get(admin, "events", past.id).values["assignee"] == anna.user_id
    entries = audit.history("organizations", org.id, action="reassign")
    assert entries[0].old == "anna" and entries[0].new == "boris"
    with pytest.raises(PermissionDenied):  # anna ("own" visibility) no longer sees it
        records.get(anna, "organizations", org.id)


def test_shared_folder_problems_are_reported_with_fix(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o2770)
    db = folder / "crm.sqlite3"
    db.write_bytes(b"")
    os.chmod(db, 0o644)
    Path(f"{db}-wal").write_bytes(b"")
    os.chmod(f"{db}-wal", 0o600)
    found = shared_files.problems(db)
    assert len(found) == 2 and all("chmod 660" in line for line in found)
    os.chmod(db, 0o660)
    os.chmod(f"{db}-wal", 0o660)
    assert shared_files.problems(db) == []
    os.chmod(folder, 0o770)
    assert any("chmod 2770" in line for line in shared_files.problems(db))
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    assert shared_files.problems(private / "x.sqlite3") == []


def test_a_shared_folder_makes_new_files_group_writable(tmp_path):
    # SQLite creates -wal/-shm with the umask and widens them a moment later; in between a
    # teammate got a read-only connection. In a setgid folder the umask keeps group bits.
    folder = tmp_path / "team"
    folder.mkdir()
    os.chmod(folder, 0o2770)
    old = os.umask(0o027)
    try:
        open_database(folder / "crm.sqlite3")
        assert os.umask(0o027) & 0o070 == 0
    finally:
        os.umask(old)
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{folder / 'crm.sqlite3'}{suffix}")
        if path.exists():
            assert path.stat().st_mode & 0o060 == 0o060, suffix


def _mixed_writer(path: str, login: str, writes: int, counter_id: int, out) -> None:  # noqa: ANN001
    """Creates notes and increments a shared counter (read, then a versioned update, again
    on a conflict — what a person does after the conflict dialog)."""
    from tui_crm.db import open_database
    from tui_crm.errors import ConflictError
    from tui_crm.services.core import records, users

    open_database(path)
    actor = users.actor_for(login)
    errors = increments = 0
    for n in range(writes):
        try:
            if n % 3:
                records.create(actor, "notes", {"title": f"{login}-{n}"})
            else:
                while True:
                    card = records.get(actor, "organizations", counter_id)
                    try:
                        records.update(actor, "organizations", counter_id,
                                       {"cadence_days": (card.values["cadence_days"] or 0) + 1},
                                       expected_version=card.version)
                        increments += 1
                        break
                    except ConflictError:
                        continue
        except Exception as exc:  # noqa: BLE001 - any error reaching the caller counts
            errors += 1
            print(f"{login}: {type(exc).__name__}: {exc}")
    out.put((errors, increments))


@pytest.mark.slow
def test_eight_processes_of_mixed_writes_lose_nothing(team):
    path, admin = team
    writers = int(os.environ.get("TUI_CRM_STRESS_WRITES", "2000"))
    for n in range(8):
        users.add_user(admin, f"w{n}", role="head")
    counter = records.create(admin, "organizations", {"name": "Счётчик", "source": "Website",
                                                      "cadence_days": 0})
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_mixed_writer, args=(str(path), f"w{n}", writers, counter.id,
                                                     out)) for n in range(8)]
    for p in procs:
        p.start()
    results = [out.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(60)
    assert [e for e, _i in results] == [0] * 8
    increments = sum(i for _e, i in results)
    assert records.get(admin, "organizations", counter.id).values["cadence_days"] == increments
    notes = records.count(admin, "notes")
    assert notes == sum(writers - (writers + 2) // 3 for _ in procs)


def test_sigterm_in_the_middle_of_a_save_leaves_the_database_consistent(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "term.sqlite3"
    open_database(path).close()
    env = dict(os.environ, TUI_CRM_LANG="en")
    proc = subprocess.Popen([sys.executable, "-m", "tui_crm", "--db", str(path), "demo",
                             "--orgs", "30000"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    time.sleep(2.5)  # well inside the one big transaction of the demo
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert backup.integrity_ok(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM organization").fetchone()[0] == 0
    conn.close()


def test_a_backup_made_while_another_process_writes_is_logged_once_the_lock_is_free(
        team, tmp_path):
    """The copy is a read and goes ahead; its audit entry is a write and, like every write,
    waits and retries for the lock (past the 5 s busy timeout) instead of failing."""
    from tests.write_lock import write_lock_held

    path, admin = team
    folder = tmp_path / "copies"
    folder.mkdir()
    with write_lock_held(str(path), seconds=7):
        result = backup.backup(admin, folder)
    assert backup.integrity_ok(result.path)
    [entry] = audit.history(action="backup")
    assert str(result.path) in entry.details
