"""What every part of the mail capability shares: the sections a mailing goes to, the
recipient statuses, the "mail" right, and finding a row by name or id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tui_crm.errors import NotFound
from tui_crm.i18n import N_
from tui_crm.services.core.rights import Actor
from tui_crm.text.ids import parse_id

KINDS = ("contacts", "organizations")
STATUSES = ("pending", "sending", "sent", "failed", "unknown", "skipped")
STATUS_LABELS = {"pending": N_("pending"), "sending": N_("sending"), "sent": N_("sent"),
                 "failed": N_("failed"), "unknown": N_("unknown"), "skipped": N_("skipped")}
MAILING_STATUS_LABELS = {"draft": N_("draft"), "sending": N_("sending"),
                         "stopped": N_("stopped"), "waiting": N_("waiting for retries"),
                         "attention": N_("needs a decision"), "done": N_("done"),
                         "interrupted": N_("interrupted")}


def require_mail(actor: Actor, kind: str | None = None) -> None:
    """The "mail" right: on the recipients' section, or on either for accounts/templates."""
    if kind is not None:
        actor.require(kind, "mail")
        return
    if not any(actor.can(k, "mail") for k in KINDS):
        actor.require("contacts", "mail")


def by_name_or_id(model: Any, ref: str | int, missing: str) -> Any:
    """A row by its name, or by its id written as `7` or `#7`; NotFound with `missing`
    (formatted with the name) when there is none."""
    text = str(ref).strip()
    row = model.get_or_none(model.name == text)
    wanted = parse_id(text)
    if row is None and wanted is not None:
        row = model.get_or_none(model.id == wanted)
    if row is None:
        raise NotFound(missing.format(name=text))
    return row


def chunks(items: list[int], size: int = 500) -> Iterable[list[int]]:
    """`items` in slices for `IN (…)` queries."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
