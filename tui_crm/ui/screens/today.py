"""The Today section: the day as time blocks with their events, overdue items on top, tasks
due, birthdays; a week strip; keys to mark done, reschedule, open the client, start a block."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import events
from tui_crm.services.planning import planning
from tui_crm.services.planning.planning import DayItem, DayView
from tui_crm.text import dates
from tui_crm.ui.screens.ask import AskModal
from tui_crm.ui.screens.log_result import LoggedResult, LogResultModal, Moved, MoveModal, now_of
from tui_crm.ui.widgets import translate_bindings


def item_line(item: DayItem, *, with_date: bool = False) -> Text:
    """One event row: time, type, client, the person (and the decision maker apart), that
    person's phone, last result."""
    when = dates.format_datetime(item.starts_at) if with_date else item.starts_at.strftime("%H:%M")
    mark = "✓" if item.status == "done" else ("↻" if item.virtual else "•")
    line = Text(f"{mark} {when}  ", style="dim" if item.status == "done" else "")
    line.append(f"{item.type_name:<9} ", style="bold")
    line.append(item.organization or item.contact or item.title or "—")
    people = planning.people_text(item.contact if item.organization else "", item.decision_maker)
    if people:
        line.append(f" · {people}", style="italic")
    if item.phone:
        line.append(f" · {item.phone}", style="cyan")
    if item.last_result:
        line.append(f" · {item.last_result}", style="dim")
    return line


# Overdue events and tasks due shown at most (the oldest first): a longer list is not read
# on a day's screen, and each line costs ~0.3 ms to lay out (200 + 200 made Today ~250 ms).
LIST_LIMIT = 50


# A blank that is not whitespace to the line wrapper (one cell wide): spaces inside a phone
# number become this while the line is wrapped, so the number is never split in two.
_GLUE = "\u2800"


class KeepTogether:
    """A Rich renderable: `text` wrapped to the width it is drawn at, each of `parts` (phone
    numbers) kept whole on one line."""

    def __init__(self, text: Text, parts: list[str]) -> None:
        self.text = text
        self.parts = [p for p in parts if p and " " in p]

    def __rich_console__(self, console, options):  # noqa: ANN001, ANN204 - the Rich protocol
        glued = self.text.copy()
        plain = glued.plain
        for part in self.parts:
            plain = plain.replace(part, part.replace(" ", _GLUE))
        glued.plain = plain  # same length: the styles stay where they were
        for line in glued.wrap(console, options.max_width):
            line.plain = line.plain.replace(_GLUE, " ")
            yield line

    def __rich_measure__(self, console, options):  # noqa: ANN001, ANN204
        return self.text.__rich_measure__(console, options)

    def __str__(self) -> str:
        return self.text.plain


class WeekStrip(Widget):
    """The week as one line: each day with its number of events in brackets, "Пн 30 (4)"
    (a bare "30:4" read as a clock time); without the dates when the line is too short."""

    DEFAULT_CSS = "WeekStrip { height: 1; width: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.days: list[tuple[dt.date, int]] = []
        self.current: dt.date | None = None

    def show(self, days: list[tuple[dt.date, int]], current: dt.date) -> None:
        self.days, self.current = days, current
        self.refresh()

    def line(self, width: int) -> Text:
        for with_date in (True, False):
            text = Text(no_wrap=True, overflow="ellipsis")
            for day, count in self.days:
                label = dates.weekday_name(day) + (f" {day.day}" if with_date else "")
                text.append(f" {label} ({count}) ",
                            style="reverse" if day == self.current else "")
            if text.cell_len <= width:
                break
        return text

    def render(self) -> Text:
        return self.line(self.content_region.width or self.size.width)


class TodayPane(Vertical):
    """The day view; keys act on the highlighted event."""

    DEFAULT_CSS = """
    TodayPane { height: 1fr; }
    TodayPane #day-title { text-style: bold; padding: 0 1; }
    TodayPane #week { height: 1; padding: 0 1; }
    TodayPane OptionList { height: 1fr; border: none; }
    """
    BINDINGS = [
        Binding("left,h", "day(-1)", N_("Prev day"), id="today.prev"),
        Binding("right,l", "day(1)", N_("Next day"), id="today.next"),
        Binding("home", "go_today", N_("Today"), id="today.today", priority=True),
        Binding("x", "done", N_("Log result"), id="today.done"),
        Binding("plus", "later_hour", N_("+1 hour"), id="today.plus_hour"),
        Binding("m", "move('tomorrow')", N_("Tomorrow"), id="today.tomorrow"),
        Binding("r", "move('')", N_("Reschedule"), id="today.reschedule"),
        Binding("o", "open_client", N_("Open client"), id="today.open"),
        Binding("b", "start_block", N_("Call block"), id="today.block"),
        Binding("P", "plan_tomorrow", N_("Plan tomorrow"), id="today.plan"),
    ]

    def __init__(self, actor, *, id: str | None = None) -> None:  # noqa: ANN001
        super().__init__(id=id)
        translate_bindings(self)
        self.actor = actor
        self.day: dt.date | None = None
        self.view: DayView | None = None
        self._items: dict[str, DayItem] = {}
        self._block_of: dict[str, str] = {}
        self._follow: int | None = None  # the event the cursor stays on after a move

    def compose(self) -> ComposeResult:
        yield Label("", id="day-title", markup=False)
        yield WeekStrip(id="week")
        yield OptionList(id="day-list")

    def on_mount(self) -> None:
        self.day = now_of(self.app).date()
        self.reload()
        self.query_one(OptionList).focus()

    def reload(self) -> None:
        """Read the day again (after a change here or by another session)."""
        assert self.day is not None
        now = now_of(self.app)
        try:
            self.view = planning.day_view(self.actor, self.day, now=now, limit=LIST_LIMIT)
            strip = planning.week(self.actor, self.day - dt.timedelta(days=self.day.weekday()))
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        title = f"{dates.weekday_name(self.day)} {dates.format_date(self.day)}"
        if self.day == now.date():
            title += "  — " + _("today")
        self.query_one("#day-title", Label).update(title)
        self.query_one("#week", WeekStrip).show(strip, self.day)
        self._fill(now)

    def _fill(self, now: dt.datetime) -> None:
        assert self.view is not None
        options: list[Option | None] = []
        self._items.clear()
        self._block_of.clear()
        keep = self.highlighted_key()

        def add_item(key: str, item: DayItem, block: str = "", with_date: bool = False) -> None:
            self._items[key] = item
            if block:
                self._block_of[key] = block
            options.append(Option(KeepTogether(item_line(item, with_date=with_date),
                                               [item.phone or ""]), id=key))

        if self.view.overdue:
            options.append(Option(Text(_("Overdue"), style="bold red"), disabled=True))
            for item in self.view.overdue:
                add_item(f"o{item.event_id}", item, with_date=True)
            if len(self.view.overdue) >= LIST_LIMIT:
                options.append(self._more_line())
        for block in self.view.blocks:
            head = Text(f"{block.block.key}–{block.block.end.strftime('%H:%M')}  "
                        f"{block.block.label or _(planning.BLOCK_KINDS[block.block.kind])}",
                        style="bold")
            if block.is_now:
                head.append("  ◀ " + _("now"), style="bold green")
            head.append(f"  ({len(block.items)})", style="dim")
            options.append(Option(head, id=f"block:{block.block.key}"))
            for item in block.items:
                add_item(f"e{item.event_id}:{item.starts_at:%H%M}", item, block.block.key)
            if not block.items:
                options.append(Option(Text("   " + _("nothing planned"), style="dim"),
                                      disabled=True))
        if self.view.outside:
            options.append(Option(Text(_("Outside the blocks"), style="bold"), disabled=True))
            for item in self.view.outside:
                add_item(f"x{item.event_id}:{item.starts_at:%H%M}", item)
        if self.view.tasks:
            options.append(Option(Text(_("Tasks due"), style="bold"), disabled=True))
            for task in self.view.tasks:
                due = dates.format_datetime(task.due_at) if task.due_at else ""
                style = "red" if task.overdue else ""
                options.append(Option(Text(f"☐ {due}  {task.title}  {task.organization}",
                                           style=style), id=f"t{task.id}"))
            if len(self.view.tasks) >= LIST_LIMIT:
                options.append(self._more_line())
        if self.view.birthdays:
            options.append(Option(Text(_("Birthdays"), style="bold"), disabled=True))
            for b in self.view.birthdays:
                age = f" ({b.age})" if b.age is not None else ""
                options.append(Option(KeepTogether(
                    Text(f"🎂 {b.name}{age}  {b.organization}  {b.phone}"), [b.phone or ""]),
                    id=f"c{b.contact_id}"))
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options(options)
        follow, self._follow = self._follow, None
        if follow is not None:  # an item just moved: its key (the time) changed with it
            keep = next((key for key, item in self._items.items() if item.event_id == follow),
                        keep)
        if keep:
            try:
                listing.highlighted = listing.get_option_index(keep)
                return
            except OptionDoesNotExist:
                pass  # the item moved to another day: highlight the first event instead
        first = next((i for i, o in enumerate(options) if o is not None and o.id
                      and o.id[0] in "oex"), None)
        if first is not None:
            listing.highlighted = first

    @staticmethod
    def _more_line() -> Option:
        return Option(Text("   " + _("… only the {n} oldest are shown here").format(
            n=LIST_LIMIT), style="dim"), disabled=True)

    def highlighted_key(self) -> str | None:
        listing = self.query_one(OptionList)
        option = listing.highlighted_option
        return option.id if option is not None else None

    def current_item(self) -> DayItem | None:
        key = self.highlighted_key()
        return self._items.get(key) if key else None

    # --- actions ---------------------------------------------------------------------------

    def action_day(self, delta: int) -> None:
        assert self.day is not None
        self.day += dt.timedelta(days=delta)
        self.reload()

    def action_go_today(self) -> None:
        self.day = now_of(self.app).date()
        self.reload()

    def _stored_id(self, item: DayItem) -> int:
        if item.virtual:
            return events.materialize(self.actor, item.event_id, item.starts_at)
        return item.event_id

    def _on_today_or_ask(self, go) -> None:  # noqa: ANN001 - a callable without arguments
        """Logging is for calls made now: from another day's view, ask first (the result is
        then dated today, when it is logged)."""
        assert self.day is not None
        if self.day == now_of(self.app).date():
            go()
            return
        question = _("This is the plan for {day}. Log these calls as made today?").format(
            day=dates.format_date(self.day))
        self.app.push_screen(AskModal(question), lambda yes: go() if yes else None)

    def action_done(self) -> None:
        item = self.current_item()
        if item is None or item.status == "done":
            return
        if item.overdue:  # an overdue item is logged today whatever day is shown
            self._log(item)
        else:
            self._on_today_or_ask(lambda: self._log(item))

    def _log(self, item: DayItem) -> None:
        heading = f"{item.type_name}: {item.organization or item.contact}"

        def logged(result: LoggedResult | None) -> None:
            if result is None:
                return
            try:
                events.log_result(self.actor, self._stored_id(item), result.result,
                                  note=result.note, next_when=result.next_when,
                                  next_type=result.next_type, now=now_of(self.app))
            except CrmError as exc:
                self.app.notify(str(exc), severity="error", markup=False)
            self.reload()

        self.app.push_screen(LogResultModal(heading, item.type_code), logged)

    def action_later_hour(self) -> None:
        item = self.current_item()
        if item is not None:
            self._move(item, Moved(item.starts_at + dt.timedelta(hours=1), _("+1 hour")))

    def action_move(self, initial: str) -> None:
        item = self.current_item()
        if item is None:
            return
        if initial == "tomorrow":
            initial = dates.format_datetime(item.starts_at + dt.timedelta(days=1))
        heading = _("Move {what}").format(what=item.organization or item.contact or item.title)

        def moved(result: Moved | None) -> None:
            if result is not None:
                self._move(item, result)

        self.app.push_screen(MoveModal(heading, initial), moved)

    def _move(self, item: DayItem, moved: Moved) -> None:
        try:
            stored = self._stored_id(item)
            events.reschedule(self.actor, stored, moved.when, moved.reason,
                              now=now_of(self.app))
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self._follow = stored
        self.app.notify(_("Moved to {when}").format(when=dates.format_datetime(moved.when)),
                        markup=False)
        self.reload()

    def action_open_client(self) -> None:
        key = self.highlighted_key() or ""
        item = self.current_item()
        opener = getattr(self.app, "open_record", None)
        if opener is None:
            return
        if item is not None:
            if item.organization_id:
                opener("organizations", item.organization_id)
            elif item.contact_id:
                opener("contacts", item.contact_id)
        elif key.startswith("c"):
            opener("contacts", int(key[1:]))
        elif key.startswith("t"):
            opener("tasks", int(key[1:]))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        key = event.option.id or ""
        if key.startswith("block:"):
            self._start(key.split(":", 1)[1])
        else:
            self.action_open_client()

    def action_start_block(self) -> None:
        key = self.highlighted_key() or ""
        block = key.split(":", 1)[1] if key.startswith("block:") else self._block_of.get(key)
        if block is None and self.view is not None:
            now = now_of(self.app)
            current = next((b for b in self.view.blocks if b.is_now), None) or next(
                (b for b in self.view.blocks if b.block.kind == "calls" and self.day
                 and dt.datetime.combine(self.day, b.block.end) > now), None)
            block = current.block.key if current else None
        if block is None:
            self.app.notify(_("Highlight a block first"), severity="warning")
            return
        self._start(block)

    def _start(self, block_key: str) -> None:
        from tui_crm.ui.screens.call_block import CallBlockScreen

        day = self.day
        assert day is not None
        self._on_today_or_ask(lambda: self.app.push_screen(
            CallBlockScreen(self.actor, day, block_key), lambda _result: self.reload()))

    def action_plan_tomorrow(self) -> None:
        from tui_crm.ui.screens.plan_tomorrow import PlanTomorrowScreen

        day = (self.day or now_of(self.app).date())
        target = day + dt.timedelta(days=1) if day == now_of(self.app).date() else day
        self.app.push_screen(PlanTomorrowScreen(self.actor, target), lambda _r: self.reload())

    @work(exclusive=True, group="today-refresh")
    async def refresh_from_elsewhere(self) -> None:
        """Called by the app when another session changed data."""
        self.reload()
