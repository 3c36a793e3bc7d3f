"""Reminder toasts for the assigned user's session only, and a list to snooze or dismiss them.

The app calls `check_reminders` every few seconds; each due reminder is claimed in the
database first, so with two sessions of one user open only one shows it."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.planning import reminders
from tui_crm.services.planning.reminders import Reminder
from tui_crm.text import dates
from tui_crm.ui.screens.log_result import now_of
from tui_crm.ui.widgets import translate_bindings

CHECK_SECONDS = 15


def check_reminders(app: App, actor, shown: list[Reminder],  # noqa: ANN001
                    session_started: dt.datetime | None = None) -> list[Reminder]:
    """Claim and toast the reminders due now; returns the new ones (also added to `shown`)."""
    try:
        due = reminders.claim_due(actor, now=now_of(app), session_started=session_started)
    except CrmError:
        return []
    shown.extend(due)
    if len(due) > 3:  # one toast for a batch (e.g. a morning of birthdays), not a wall
        missed = sum(1 for r in due if r.missed)
        body = "\n".join(r.title for r in due[:3]) + "\n" + _("…and {n} more").format(
            n=len(due) - 3) + "\n" + _("ctrl+r: snooze or dismiss")
        title = _("{n} reminders ({missed} missed)").format(n=len(due), missed=missed)
        app.notify(body, title=title, severity="warning", timeout=30, markup=False)
        return due
    for r in due:
        title = _("Missed reminder") if r.missed else _("Reminder")
        body = f"{r.title}\n{r.body}".strip() + "\n" + _("ctrl+r: snooze or dismiss")
        app.notify(body, title=title, severity="warning", timeout=20, markup=False)
    return due


class RemindersModal(ModalScreen[None]):
    """The reminders shown in this session: 5 = 5 minutes, h = an hour, t = tomorrow,
    d = dismiss."""

    DEFAULT_CSS = """
    RemindersModal { align: center middle; }
    RemindersModal > Vertical { width: 80; max-width: 100%; height: auto; max-height: 80%;
        border: thick $warning; background: $surface; padding: 0 1; }
    RemindersModal OptionList { height: auto; max-height: 20; }
    RemindersModal .title { text-style: bold; }
    RemindersModal .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="reminders.close"),
        Binding("5", "snooze('5m')", N_("In 5 min"), id="reminders.snooze5"),
        Binding("h", "snooze('1h')", N_("In 1 hour"), id="reminders.snooze1h"),
        Binding("t", "snooze('tomorrow')", N_("Tomorrow"), id="reminders.tomorrow"),
        Binding("d", "dismiss_one", N_("Dismiss"), id="reminders.dismiss"),
    ]

    def __init__(self, actor, items: list[Reminder]) -> None:  # noqa: ANN001
        super().__init__()
        translate_bindings(self)
        self.actor = actor
        self.items = items

    def compose(self) -> ComposeResult:
        with Vertical():
            # The title on its own line: "Reminders — 5: …" read as "5 reminders".
            yield Label(_("Reminders"), classes="title")
            yield Label(_("Keys: 5 in 5 min · h in 1 hour · t tomorrow · d dismiss"),
                        classes="hint")
            yield OptionList(id="reminder-list")

    def on_mount(self) -> None:
        self._fill()
        self.query_one(OptionList).focus()

    def _fill(self) -> None:
        listing = self.query_one(OptionList)
        listing.clear_options()
        if not self.items:
            listing.add_option(Option(_("No reminders."), disabled=True))
            return
        for r in self.items:
            line = Text(f"{dates.format_datetime(r.fire_at)}  ", style="dim")
            line.append(r.title, style="bold")
            if r.body:
                line.append(f"  {r.body}")
            listing.add_option(Option(line, id=r.key))
        listing.highlighted = 0

    def _current(self) -> Reminder | None:
        listing = self.query_one(OptionList)
        if listing.highlighted is None or listing.highlighted >= len(self.items):
            return None
        return self.items[listing.highlighted]

    def action_snooze(self, choice: str) -> None:
        r = self._current()
        if r is None:
            return
        until = reminders.snooze(self.actor, r.key, choice, now=now_of(self.app))
        self.app.notify(_("Snoozed until {when}").format(when=dates.format_datetime(until)),
                        markup=False)
        self.items.remove(r)
        self._fill()

    def action_dismiss_one(self) -> None:
        r = self._current()
        if r is None:
            return
        reminders.dismiss(self.actor, r.key)
        self.items.remove(r)
        self._fill()

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        r = self._current()
        opener = getattr(self.app, "open_record", None)
        if r is None or opener is None:
            return
        self.dismiss(None)
        if r.organization_id:
            opener("organizations", r.organization_id)
        elif r.contact_id:
            opener("contacts", r.contact_id)

    def action_close(self) -> None:
        self.dismiss(None)
