"""What the Mailings screens share: a worker thread's connection, progress and status
texts, a recipient's label, a preview with its warning."""

from __future__ import annotations

from rich.text import Text

from tui_crm.i18n import _
from tui_crm.services.mail import (
    context,
    mail_files,
    message,
)
from tui_crm.services.mail.recipients import Candidate

TABLE_LIMIT = 1000  # rows a status table shows at once (filter by status for the rest)


def db_context():  # noqa: ANN202 - a context manager
    """A connection of this worker thread, closed when the work is done."""
    from tui_crm.db.database import current

    return current().connection_context()


def progress_text(done: int, total: int, width: int = 10) -> Text:
    filled = round(width * done / total) if total else 0
    text = Text("█" * filled, style="green")
    text.append("░" * (width - filled), style="dim")
    text.append(f" {done}/{total}")
    return text


def status_style(status: str) -> str:
    return {"sent": "green", "failed": "red", "unknown": "bold yellow", "skipped": "dim",
            "sending": "cyan"}.get(status, "")


# --- the section -------------------------------------------------------------------------------


def candidate_label(c: Candidate) -> str:
    return f"{c.name} <{c.address}>" if c.name else c.address


def attachments_text(attachments: list[mail_files.Attachment]) -> str:
    """What the template keeps: each file's name and size, and any file an upgrade could
    not keep."""
    if not attachments:
        return ""
    lines = [_("Kept with the template: {files}. A name keeps its file; a path attaches the "
               "file as it is now.").format(
        files=", ".join(a.label() for a in attachments if not a.problem) or "—")]
    lines += mail_files.problems(attachments)
    return "\n".join(lines)


def preview_text(shown: context.Preview) -> Text:
    text = Text()
    if shown.unknown:
        text.append(unknown_warning(shown.unknown) + "\n", style="bold yellow")
    text.append(_("To: {name} <{address}>").format(name=shown.to_name,
                                                    address=shown.to_address), style="dim")
    text.append("\n")
    text.append(_("Subject: {subject}").format(subject=shown.subject), style="bold")
    for attachment in shown.attachments:
        text.append("\n" + _("Attachment: {path}").format(path=attachment.label()), style="dim")
    text.append("\n\n")
    text.append(message.html_to_text(shown.body) if shown.html else shown.body)
    return text


def unknown_warning(fields: list[str]) -> str:
    return _("Unknown fields, shown blank: {fields}").format(
        fields=", ".join("{{ " + f + " }}" for f in fields))
