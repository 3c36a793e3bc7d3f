"""Attachments of mail templates, kept in the database.

A file is read once, when its template is saved, by the person saving it (the program runs
as their OS account, so they attach only what they may read), never through a symbolic
link (see tui_crm.file_reading). Its bytes are stored once per content (MailFile, by
SHA-256) and a template or mailing lists its attachments as {"name", "size", "sha256"}.
Whoever sends the mailing later attaches exactly those bytes: nothing is read from disk at
send time, so replacing the file afterwards (say, by a link to a file only the admin may
read) changes nothing.

Templates from before this (schema step 9) named paths; the upgrade read them then. One it
could not read stays listed with its path and the reason (`problem`), is reported by
`mail template list` and stops a send, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_crm.db.mail_models import MailFile, Mailing, MailTemplate
from tui_crm.errors import CrmError, ValidationError
from tui_crm.file_reading import FileProblem, problem_text, read_file
from tui_crm.i18n import _

MAX_BYTES = 20 * 1024 * 1024


def format_size(size: int) -> str:
    if size < 1024:
        return _("{n} B").format(n=size)
    if size < 1024 * 1024:
        return _("{n} KB").format(n=f"{size / 1024:.1f}".rstrip("0").rstrip("."))
    return _("{n} MB").format(n=f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip("."))


@dataclass(frozen=True)
class Attachment:
    name: str
    size: int = 0
    sha256: str = ""
    path: str = ""  # only of an old template's file that could not be taken in …
    problem: str = ""  # … and why (a tui_crm.file_reading.PROBLEMS code)
    login: str = ""  # … whose rights it was checked against

    def label(self) -> str:
        """`name (size)`, for people."""
        return f"{self.name} ({format_size(self.size)})"

    def problem_text(self) -> str:
        """The one-line problem of an attachment that could not be kept ("" if none)."""
        if not self.problem:
            return ""
        return _("The attachment {name} could not be kept when tui-crm was upgraded: "
                 "{reason}; attach the file again.").format(
            name=self.name, reason=problem_text(self.problem, self.path, self.login))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "size": self.size, "sha256": self.sha256}
        if self.problem:
            data.update(path=self.path, problem=self.problem, login=self.login)
        return data


def parse(text: str | None) -> list[Attachment]:
    """The attachments stored in a template's or mailing's `attachments` column."""
    found = []
    for item in json.loads(text or "[]"):
        if isinstance(item, str):  # a path no upgrade has taken in (cannot happen after 9)
            found.append(Attachment(Path(item).name, path=item, problem="missing"))
        else:
            found.append(Attachment(
                str(item.get("name", "")), int(item.get("size", 0)),
                str(item.get("sha256", "")), str(item.get("path", "")),
                str(item.get("problem", "")), str(item.get("login", ""))))
    return found


def dump(attachments: Iterable[Attachment]) -> str:
    return json.dumps([a.to_dict() for a in attachments], ensure_ascii=False)


def store(name: str, data: bytes) -> Attachment:
    """Keep `data` (once per content) and return the attachment naming it."""
    digest = hashlib.sha256(data).hexdigest()
    MailFile.insert(sha256=digest, size=len(data), data=data).on_conflict_ignore().execute()
    return Attachment(name, len(data), digest)


def take(paths: Iterable[str], *, kept: Iterable[Attachment] = ()) -> list[Attachment]:
    """The attachments for a template being saved: each entry is a file path to read now,
    or the name of one of `kept` (the template's attachments so far), which stays as it
    is. Must run in the saving transaction; ValidationError names the first bad file."""
    by_name = {a.name: a for a in kept if not a.problem}
    chosen = []
    for raw in paths:
        entry = str(raw).strip()
        if not entry:
            continue
        if entry in by_name and "/" not in entry:
            chosen.append(by_name[entry])
            continue
        try:
            data = read_file(entry, limit=MAX_BYTES)
        except FileProblem as exc:
            raise ValidationError({"attachments": exc.message()}) from None
        chosen.append(store(Path(entry).name, data))
    return chosen


def problems(attachments: Iterable[Attachment]) -> list[str]:
    return [a.problem_text() for a in attachments if a.problem]


def contents(attachments: Iterable[Attachment]) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each attachment, for the message; CrmError when one could not
    be kept (see `problems`)."""
    attachments = list(attachments)
    for problem in problems(attachments):
        raise CrmError(problem)
    wanted = {a.sha256 for a in attachments}
    data = {f.sha256: bytes(f.data) for f in MailFile.select(MailFile.sha256, MailFile.data)
            .where(MailFile.sha256.in_(list(wanted)))} if wanted else {}
    missing = [a.name for a in attachments if a.sha256 not in data]
    if missing:
        raise CrmError(_("The attachment {name} is missing from the database; attach the "
                         "file again.").format(name=missing[0]))
    return [(a.name, data[a.sha256]) for a in attachments]


def prune() -> None:
    """Remove the bytes no template or mailing refers to any more (in the caller's
    transaction, after a template or mailing was changed or deleted)."""
    used: set[str] = set()
    for model in (MailTemplate, Mailing):
        for (text,) in model.select(model.attachments).where(model.attachments != "[]").tuples():
            used.update(a.sha256 for a in parse(text) if a.sha256)
    stale = [f.id for f in MailFile.select(MailFile.id, MailFile.sha256)
             if f.sha256 not in used]
    for start in range(0, len(stale), 500):
        MailFile.delete().where(MailFile.id.in_(stale[start:start + 500])).execute()
