"""The Follow-ups section (warm clients): the queue in its order — no next step flagged at the
top, then overdue, today, later — with snooze (reason kept in history) and open."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core.kinds import DEAL_STAGE_CHOICES
from tui_crm.services.planning import followups
from tui_crm.services.planning.followups import FollowUp
from tui_crm.text import dates
from tui_crm.ui.screens.log_result import Moved, MoveModal, now_of
from tui_crm.ui.widgets import translate_bindings


def _when(f: FollowUp) -> str:
    return dates.format_datetime(f.next_contact_at) if f.next_contact_at else ""


def followup_line(f: FollowUp, today) -> Text:  # noqa: ANN001 - a date
    if f.no_next_step:
        line = Text("⚑ " + _("no next step") + "  ", style="bold red")
    elif f.overdue:
        line = Text(f"! {_when(f)}  ", style="red")
    elif f.next_contact_at and f.next_contact_at.date() == today:
        line = Text(f"• {f.next_contact_at:%H:%M} {_('today')}  ", style="bold")
    else:
        line = Text(f"  {_when(f)}  ")
    line.append(f.title, style="bold")
    reason = _(followups.REASONS[f.reason])
    if f.stage:
        reason += f": {_(DEAL_STAGE_CHOICES.get(f.stage, f.stage))}"
    line.append(f"  ({reason})", style="yellow")
    if f.phone:
        line.append(f" · {f.phone}", style="cyan")
    if f.owner:
        line.append(f" · {f.owner}", style="dim")
    return line


PAGE = 250  # the head of the queue: a day of calls many times over; the heading counts all


class FollowupsPane(Vertical):
    DEFAULT_CSS = """
    FollowupsPane { height: 1fr; }
    FollowupsPane #fu-title { text-style: bold; padding: 0 1; }
    FollowupsPane OptionList { height: 1fr; border: none; }
    """
    BINDINGS = [
        Binding("z", "snooze", N_("Snooze"), id="followups.snooze"),
        Binding("o", "open_client", N_("Open client"), id="followups.open"),
        Binding("l", "log_contact", N_("Log call"), id="followups.log"),
        Binding("j", "cursor(1)", N_("Down"), show=False, id="followups.down"),
        Binding("k", "cursor(-1)", N_("Up"), show=False, id="followups.up"),
    ]

    def __init__(self, actor, *, id: str | None = None) -> None:  # noqa: ANN001
        super().__init__(id=id)
        translate_bindings(self)
        self.actor = actor
        self.items: list[FollowUp] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="fu-title", markup=False)
        yield OptionList(id="fu-list")

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    def reload(self) -> None:
        now = now_of(self.app)
        try:
            # The head of a big base has tens of thousands: show the first page of the queue
            # (its order is computed in SQL) and count the rest.
            self.items = followups.queue(self.actor, now=now, limit=PAGE)
            total = followups.counts(self.actor, now=now)
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        title = _("{total} warm clients · {flagged} without a next step · {overdue} overdue"
                  ).format(total=total["total"], flagged=total["no_next_step"],
                           overdue=total["overdue"])
        if total["total"] > len(self.items):
            title += "  " + _("(the first {n} shown)").format(n=len(self.items))
        self.query_one("#fu-title", Label).update(title)
        listing = self.query_one(OptionList)
        keep = listing.highlighted_option.id if listing.highlighted_option else None
        listing.clear_options()
        listing.add_options([Option(followup_line(f, now.date()), id=f"{f.kind}:{f.id}")
                             for f in self.items])
        if keep:
            try:
                listing.highlighted = listing.get_option_index(keep)
            except OptionDoesNotExist:  # it left the queue
                listing.highlighted = 0 if self.items else None
        elif self.items:
            listing.highlighted = 0

    def current(self) -> FollowUp | None:
        listing = self.query_one(OptionList)
        if listing.highlighted is None or listing.highlighted >= len(self.items):
            return None
        return self.items[listing.highlighted]

    def action_snooze(self) -> None:
        item = self.current()
        if item is None:
            return

        def moved(result: Moved | None) -> None:
            if result is None:
                return
            try:
                followups.snooze(self.actor, item.kind, item.id, result.when, result.reason,
                                 now=now_of(self.app))
            except CrmError as exc:
                self.app.notify(str(exc), severity="error", markup=False)
                return
            self.app.notify(_("{title}: next contact {when}").format(
                title=item.title, when=dates.format_datetime(result.when)), markup=False)
            self.reload()

        self.app.push_screen(MoveModal(_("Snooze {title}").format(title=item.title)), moved)

    def action_log_contact(self) -> None:
        from tui_crm.ui.screens.log_result import log_contact

        item = self.current()
        if item is not None:
            log_contact(self.app, self.actor, item.kind, item.id, item.title, then=self.reload)

    def action_cursor(self, delta: int) -> None:
        listing = self.query_one(OptionList)
        if listing.option_count:
            current = listing.highlighted or 0
            listing.highlighted = max(0, min(listing.option_count - 1, current + delta))

    def action_open_client(self) -> None:
        item = self.current()
        opener = getattr(self.app, "open_record", None)
        if item is not None and opener is not None:
            opener(item.kind, item.id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open_client()
