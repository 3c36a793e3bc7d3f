"""Backups as files: private from their first byte, never a partial copy under the final
name, leftovers of a killed run cleaned by the next one, and a complete copy reported as
done even when its audit entry cannot be written."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.services.core import audit, users
from tui_crm.services.ops import backup


@pytest.fixture
def live(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "crm.sqlite3"
    path.parent.mkdir()
    open_database(path)
    users.resolve_actor()  # this OS account: the admin
    yield path
    db = database_proxy.obj
    if db is not None and not db.is_closed():
        db.close()
    database_proxy.initialize(None)


def _fill(path: Path, rows: int) -> None:
    """Make the database big enough that copying it takes a while."""
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("CREATE TABLE filler (data BLOB)")
    conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                 " INSERT INTO filler SELECT randomblob(1000) FROM n", (rows,))
    conn.commit()
    conn.close()


def _cli(live: Path, *args: str, **kwargs) -> subprocess.Popen:  # noqa: ANN003
    return subprocess.Popen([sys.executable, "-m", "tui_crm", "--db", str(live), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def _umask_022() -> None:
    os.umask(0o022)


def test_the_copy_is_0600_with_umask_022_and_0640_in_a_team_folder(live: Path,
                                                                    tmp_path: Path) -> None:
    admin = users.resolve_actor()
    copies = tmp_path / "copies"
    copies.mkdir()
    old = os.umask(0o022)
    try:
        result = backup.backup(admin, copies)
    finally:
        os.umask(old)
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert result.warning == ""
    assert audit.history(action="backup")[0].details == str(result.path)
    assert [p.name for p in copies.iterdir()] == [result.path.name]
    # A team's setgid group folder: the group may read the copy too, nobody else.
    live.parent.chmod(0o2770)
    old = os.umask(0o077)
    try:
        shared = backup.backup(admin, copies / "team.sqlite3")
    finally:
        os.umask(old)
    assert stat.S_IMODE(shared.path.stat().st_mode) == 0o640


def test_a_killed_backup_leaves_nothing_readable_and_the_next_one_cleans_up(
        live: Path, tmp_path: Path) -> None:
    database_proxy.obj.close()
    _fill(live, 150_000)
    copies = tmp_path / "copies"
    copies.mkdir()
    proc = _cli(live, "backup", str(copies), preexec_fn=_umask_022)
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        files = [p for p in copies.iterdir() if not p.name.endswith("-journal")]
        if files and files[0].stat().st_size > 1_000_000:  # the copy is under way
            for p in copies.iterdir():
                seen.append((p.name, stat.S_IMODE(p.stat().st_mode)))
            proc.kill()
            break
        time.sleep(0.01)
    proc.wait(30)
    assert proc.returncode == -9, "the copy ended before it could be seen under way"
    # While it ran: only the private temporary file (and its journal), no final name.
    assert seen and all(mode & 0o077 == 0 for _name, mode in seen), seen
    assert not [name for name, _mode in seen if name.startswith(backup.PREFIX)]
    left = list(copies.iterdir())
    assert left and all(p.name.startswith(backup.PARTIAL_PREFIX) for p in left)
    assert all(_private(p) for p in left)
    assert not list(copies.glob(f"{backup.PREFIX}*{backup.SUFFIX}"))
    # The next backup removes the leftovers and counts only complete copies.
    done = _cli(live, "backup", str(copies), "--keep", "1", preexec_fn=_umask_022)
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    names = [p.name for p in copies.iterdir()]
    assert len(names) == 1 and names[0].startswith(backup.PREFIX), names
    assert _private(copies / names[0])
    assert backup.integrity_ok(copies / names[0])


_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO setting (key, value) VALUES ('lock-holder', '1')")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def test_a_complete_backup_is_done_even_when_its_audit_entry_meets_the_lock(
        live: Path, tmp_path: Path) -> None:
    database_proxy.obj.close()
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(live)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"
        target = tmp_path / "copy.sqlite3"
        run = _cli(live, "backup", str(target))
        out, err = run.communicate(timeout=300)
    finally:
        holder.communicate("\n", timeout=60)
    assert run.returncode == 0, err
    assert "integrity ok" in out
    assert err.count("\n") == 1 and "warning: the backup is complete, but it is not in the " \
        "audit log" in err
    assert backup.integrity_ok(target) and _private(target)


def test_restore_leaves_no_temporary_files(live: Path, tmp_path: Path) -> None:
    admin = users.resolve_actor()
    copies = tmp_path / "copies"
    copies.mkdir()
    made = backup.backup(admin, copies).path
    database_proxy.obj.close()
    before = {p.name for folder in (live.parent, copies) for p in folder.iterdir()}
    run = _cli(live, "restore", str(made), "--yes")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    after = {p.name for folder in (live.parent, copies) for p in folder.iterdir()}
    assert after - before <= {"crm.sqlite3-wal", "crm.sqlite3-shm"}
    assert _private(made)
