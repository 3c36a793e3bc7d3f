"""Saved recipient lists: a named search, group or category of contacts or organizations,
kept for everyone in the database and resolved again (with today's records) whenever a
mailing is made from it."""

from __future__ import annotations

from dataclasses import asdict

from tui_crm.db.database import write
from tui_crm.errors import NotFound, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, settings
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail.common import KINDS
from tui_crm.services.mail.recipients import RecipientSource

KEY = "mail_lists"


def _all() -> dict[str, dict]:
    value = settings.get_value(KEY, {})
    return value if isinstance(value, dict) else {}


def names() -> list[str]:
    return sorted(_all())


def _missing(name: str) -> NotFound:
    return NotFound(_("No saved list {name!r}; known: {known}").format(
        name=name, known=", ".join(names()) or "—"))


def load(name: str) -> RecipientSource:
    stored = _all().get(name.strip())
    if stored is None:
        raise _missing(name)
    return RecipientSource(kind=stored.get("kind", "contacts"), text=stored.get("text", ""),
                           filters=dict(stored.get("filters") or {}),
                           group=stored.get("group"), category=stored.get("category"),
                           ids=stored.get("ids"))


@write
def save(actor: Actor, name: str, source: RecipientSource) -> None:
    """Save (or replace) a list under a name."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Required")})
    if source.kind not in KINDS:
        raise ValidationError({"kind": _("Mailings go to contacts or organizations")})
    actor.require(source.kind, "mail")
    lists = _all()
    lists[name] = asdict(source)
    settings.put_value(KEY, lists)
    audit.log(actor, "settings", "mail_lists", None, details=f"{name}: {source.describe()}")


@write
def delete(actor: Actor, name: str) -> None:
    lists = _all()
    source = lists.pop(name.strip(), None)
    if source is None:
        raise _missing(name)
    actor.require(source.get("kind", "contacts"), "mail")
    settings.put_value(KEY, lists)
    audit.log(actor, "settings", "mail_lists", None, details=f"{name}: removed")
