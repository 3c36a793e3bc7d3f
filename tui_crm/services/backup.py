"""Consistent copies of a live SQLite database, rotation, and restoring one.

`VACUUM INTO` copies the database as one read transaction, so others keep working while it
runs and the copy is consistent; the copy is then checked with `PRAGMA integrity_check`.
On PostgreSQL the tool for this is pg_dump, and the command says so.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tui_crm.db import migrations
from tui_crm.db.database import current, is_postgres
from tui_crm.errors import CrmError, PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services import audit
from tui_crm.services.rights import Actor

PREFIX = "tui-crm-"
SUFFIX = ".sqlite3"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    removed: list[Path]

    def to_dict(self) -> dict:
        return {"path": str(self.path), "size": self.size,
                "removed": [str(p) for p in self.removed]}


def _require_backup_right(actor: Actor) -> None:
    if actor.role not in ("admin", "head"):
        raise PermissionDenied(_("Only an admin or the head of sales can make or restore backups."))


def _live_path() -> Path:
    db = current()
    if is_postgres(db):
        raise CrmError(_("This database is on PostgreSQL: use pg_dump to back it up"
                         " (e.g. pg_dump -Fc DBNAME > crm.dump) and pg_restore to restore."))
    return Path(db.database)


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
    _live_path()
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
    db = current()
    try:
        db.execute_sql("VACUUM INTO ?", (str(target),))
    except Exception as exc:  # sqlite3/peewee errors: disk full, permissions
        target.unlink(missing_ok=True)
        raise CrmError(_("The backup failed: {reason}").format(
            reason=str(exc).splitlines()[0])) from None
    os.chmod(target, 0o640)
    if not integrity_ok(target):
        target.unlink(missing_ok=True)
        raise CrmError(_("The copy failed its integrity check and was removed."))
    removed: list[Path] = []
    if keep is not None:
        copies = sorted(p for p in target.parent.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
        for old in copies[: max(0, len(copies) - keep)]:
            old.unlink()
            removed.append(old)
    audit.log_alone(actor, "backup", "", None, details=str(target))
    return BackupResult(target, target.stat().st_size, removed)


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


def restore(actor: Actor, source: str | os.PathLike) -> Path:
    """Replace the live database's content with a backup, through SQLite's backup API (it
    takes the write lock, so no session's transaction is cut in half)."""
    _require_backup_right(actor)
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
    audit.log_alone(actor, "restore", "", None, details=str(path))
    return live
