"""Consistent copies of a live SQLite database, rotation, and restoring one.

`VACUUM INTO` copies the database as one read transaction, so others keep working while it
runs and the copy is consistent; the copy is then checked with `PRAGMA integrity_check`.
On PostgreSQL the tool for this is pg_dump, and the command says so.

A copy holds every client's data, so it is never readable by others, not even for a moment:
it is written into a file created 0600 (0640 when the database lives in a team's setgid
group folder) under a hidden temporary name in the destination folder, checked, synced, and
only then renamed to its name. `VACUUM INTO` writes into that empty file and keeps its mode;
the `-journal` it keeps meanwhile gets the same mode. A killed backup leaves no file under
the backup's name, only a private temporary file, which the next backup into that folder
removes (a run in progress holds a lock on its own, so it is never taken for a leftover).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from peewee import PeeweeException

from tui_crm.db import migrations
from tui_crm.db.backend import backend
from tui_crm.db.database import current
from tui_crm.errors import CrmError, PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, server_files
from tui_crm.services.core.rights import Actor

PREFIX = "tui-crm-"
SUFFIX = ".sqlite3"
PARTIAL_PREFIX = ".tui-crm-backup-"  # hidden, and never matches the rotation's pattern
PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    removed: list[Path]
    warning: str = ""  # the copy is complete; something after it (the audit entry) was not

    def to_dict(self) -> dict:
        return {"path": str(self.path), "size": self.size,
                "removed": [str(p) for p in self.removed], "warning": self.warning}


@dataclass(frozen=True)
class RestoreResult:
    path: Path  # the live database
    warning: str = ""


def _require_backup_right(actor: Actor) -> None:
    if actor.role not in ("admin", "head"):
        raise PermissionDenied(_("Only an admin or the head of sales can make or restore backups."))


def _live_path() -> Path:
    engine = backend()
    path = engine.file_path()
    if engine.name == "postgres":
        raise CrmError(_("This database is on PostgreSQL: use pg_dump to back it up"
                         " (e.g. pg_dump -Fc DBNAME > crm.dump) and pg_restore to restore."))
    if path is None:
        raise CrmError(_("This database is not a file (it is in memory): there is nothing to"
                         " back up."))
    return path


def backup_mode(live: Path) -> int:
    """0600; 0640 when the database is in a team's setgid group folder (its group may read
    the live file anyway, and another admin of the team restores)."""
    try:
        shared = bool(live.parent.stat().st_mode & stat.S_ISGID)
    except OSError:
        shared = False
    return 0o640 if shared else 0o600


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{PARTIAL_PREFIX}*{PARTIAL_SUFFIX}"))


def _remove_with_journal(path: Path) -> None:
    for leftover in (path, Path(f"{path}-journal")):
        try:
            leftover.unlink()
        except FileNotFoundError:
            pass


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove the temporary files of killed backups in `folder` (a running backup holds a
    lock on its own and is left alone); the paths removed."""
    removed = []
    for path in _partials(folder):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a backup in progress
            os.close(fd)
            continue
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                _remove_with_journal(path)
                removed.append(path)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    for journal in folder.glob(f"{PARTIAL_PREFIX}*{PARTIAL_SUFFIX}-journal"):
        if not Path(str(journal)[: -len("-journal")]).exists():
            journal.unlink(missing_ok=True)
    return removed


def _new_partial(folder: Path, mode: int) -> tuple[Path, int]:
    """An empty private file for the copy, created with its final mode and locked while the
    copy runs (so another backup's clean-up leaves it alone)."""
    while True:
        path = folder / f"{PARTIAL_PREFIX}{secrets.token_hex(8)}{PARTIAL_SUFFIX}"
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW, mode)
        except FileExistsError:
            continue
        except OSError as exc:
            raise CrmError(_("The backup failed: {reason}").format(
                reason=exc.strerror or exc)) from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, mode)  # exactly this mode, whatever the umask
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                return path, fd
        except FileNotFoundError:
            pass
        os.close(fd)  # another backup's clean-up took it before the lock: take a new name


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _audit(actor: Actor, action: str, details: str) -> None:
    audit.log_alone(actor, action, "", None, details=details)


def _audit_after(actor: Actor, action: str, details: str) -> str:
    """Write the audit entry of a completed backup or restore (retrying while another
    session holds the write lock); a warning instead of a failure when it cannot be."""
    try:
        _audit(actor, action, details)
    except (CrmError, PeeweeException, sqlite3.Error) as exc:
        return _("it is not in the audit log: {reason}").format(
            reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return ""


def integrity_ok(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


def backup(actor: Actor, dest: str | os.PathLike, *, keep: int | None = None,
           now: dt.datetime | None = None) -> BackupResult:
    """Copy the live database to `dest` (a file, or a folder for a dated file name);
    with `keep`, remove the oldest dated copies in that folder beyond N."""
    _require_backup_right(actor)
    server_files.check(actor, dest)
    target = Path(dest).expanduser()
    now = now or dt.datetime.now()
    if target.is_dir():
        target = target / f"{PREFIX}{now:%Y%m%d-%H%M%S}{SUFFIX}"
    if not target.parent.exists():
        raise ValidationError({"dest": _("The folder {folder} does not exist.").format(
            folder=target.parent)})
    if target.exists():
        raise ValidationError({"dest": _("{path} already exists; choose another name.").format(
            path=target)})
    if keep is not None and keep < 1:
        raise ValidationError({"keep": _("Keep at least one copy")})
    live = _live_path()
    folder = target.parent
    remove_stale_partials(folder)
    partial, fd = _new_partial(folder, backup_mode(live))
    try:
        try:
            current().execute_sql("VACUUM INTO ?", (str(partial),))
            os.fsync(fd)
        except Exception as exc:  # sqlite3/peewee errors: disk full, permissions
            raise CrmError(_("The backup failed: {reason}").format(
                reason=str(exc).splitlines()[0])) from None
        if not integrity_ok(partial):
            raise CrmError(_("The copy failed its integrity check and was removed."))
        if target.exists():  # made meanwhile by someone else: never overwritten
            raise ValidationError({"dest": _("{path} already exists; choose another name.")
                                   .format(path=target)})
        os.replace(partial, target)
    except BaseException:
        _remove_with_journal(partial)
        raise
    finally:
        os.close(fd)
    _sync_folder(folder)
    removed: list[Path] = []
    if keep is not None:
        copies = sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
        for old in copies[: max(0, len(copies) - keep)]:
            old.unlink()
            removed.append(old)
    warning = _audit_after(actor, "backup", str(target))
    return BackupResult(target, target.stat().st_size, removed, warning)


def check_restorable(source: str | os.PathLike) -> Path:
    """A backup file that is intact and has a schema this program knows."""
    path = Path(source).expanduser()
    if not path.is_file():
        raise ValidationError({"source": _("{path} is not a file.").format(path=path)})
    if not integrity_ok(path):
        raise ValidationError({"source": _("{path} is not an intact SQLite database.").format(
            path=path)})
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.DatabaseError:
        raise ValidationError({"source": _("{path} is not a tui-crm database.").format(
            path=path)}) from None
    finally:
        conn.close()
    if not row or row[0] is None or row[0] > migrations.latest_version():
        raise ValidationError({"source": _("{path} has a schema this program does not know.")
                               .format(path=path)})
    return path


def restore(actor: Actor, source: str | os.PathLike) -> RestoreResult:
    """Replace the live database's content with a backup, through SQLite's backup API (it
    takes the write lock, so no session's transaction is cut in half)."""
    _require_backup_right(actor)
    server_files.check(actor, source)
    live = _live_path()
    path = check_restorable(source)
    db = current()
    db.close()
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dst = sqlite3.connect(str(live), timeout=30)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    db.connect(reuse_if_open=True)
    migrations.migrate(db)
    warning = _audit_after(actor, "restore", str(path))
    return RestoreResult(live, warning)
