"""Step 9: mail attachments kept in the database (mail_file) instead of read from paths.

A template used to name file paths, read by whoever sent a mailing made from it: a manager
could name a file of theirs, swap it later for a symbolic link to a file only the admin may
read, and the admin's next send attached it. The files of existing templates and mailings
are read now, once, on behalf of the people who chose them: never through a link, only
regular files of at most 20 MB, and only if every one of them (the author, and whoever
changed the template) may read the file by its modes, whoever runs this upgrade. A file
that cannot be taken in stays listed with its path and the reason, so `mail template list`
and a send report it instead of leaving it out.

The entries written here have the shape tui_crm.services.mail.mail_files reads: {"name", "size",
"sha256"}, or {"name", "size": 0, "sha256": "", "path", "problem", "login"}.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from peewee import Database

from tui_crm.db.mail_models import MailFile
from tui_crm.file_reading import Account, FileProblem, read_file

MAX_BYTES = 20 * 1024 * 1024


def _logins(db: Database, sql: str, params: tuple) -> list[str]:
    return sorted({row[0] for row in db.execute_sql(sql, params).fetchall() if row[0]})


def _template_authors(db: Database, p: str, template_id: int | None) -> list[str]:
    """Who created the template and who changed it since (any of them set its files)."""
    if template_id is None:
        return []
    return _logins(db, f'SELECT u.login FROM mail_template t JOIN "user" u ON u.id ='
                       f' t.created_by_id WHERE t.id = {p}', (template_id,)) + _logins(
        db, f'SELECT u.login FROM audit_log a JOIN "user" u ON u.id = a.user_id'
            f" WHERE a.kind = 'mail_templates' AND a.action = 'update' AND a.record_id = {p}",
        (template_id,))


def _take(db: Database, p: str, path: str, logins: list[str]) -> dict:
    name = Path(path).name
    try:
        if not logins:
            raise FileProblem("no_author", path)
        readers = [Account.of(login) for login in logins]
        data = read_file(path, limit=MAX_BYTES, readers=readers)
    except FileProblem as exc:
        return {"name": name, "size": 0, "sha256": "", "path": path, "problem": exc.code,
                "login": exc.login}
    digest = hashlib.sha256(data).hexdigest()
    db.execute_sql(f"INSERT INTO mail_file (sha256, size, data, created_at) VALUES ({p}, {p},"
                   f" {p}, CURRENT_TIMESTAMP) ON CONFLICT (sha256) DO NOTHING",
                   (digest, len(data), data))
    return {"name": name, "size": len(data), "sha256": digest}


def apply(db: Database) -> None:
    db.create_tables([MailFile], safe=True)
    p = "%s" if db.param == "%s" else "?"
    for table, template_column in (("mail_template", "id"), ("mailing", "template_id")):
        rows = db.execute_sql(f"SELECT id, attachments, {template_column}, created_by_id"
                              f" FROM {table} WHERE attachments <> '[]'").fetchall()
        for row_id, text, template_id, creator in rows:
            items = json.loads(text or "[]")
            if not any(isinstance(item, str) for item in items):
                continue
            logins = _logins(db, f'SELECT login FROM "user" WHERE id = {p}', (creator,)) \
                if creator is not None else []
            logins = sorted(set(logins) | set(_template_authors(db, p, template_id)))
            taken = [_take(db, p, item, logins) if isinstance(item, str) else item
                     for item in items]
            db.execute_sql(f"UPDATE {table} SET attachments = {p} WHERE id = {p}",
                           (json.dumps(taken, ensure_ascii=False), row_id))
