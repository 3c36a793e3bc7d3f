"""Modals of daily planning: log a call's result (one key per result, next step required for
warm results, with quick picks) and move an event or client with a short reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from tui_crm.i18n import N_, _
from tui_crm.services.core import settings
from tui_crm.services.core.settings import EventTypeInfo, ResultInfo
from tui_crm.text import dates
from tui_crm.ui.widgets import modal_css, text_choices, translate_bindings

RESULT_KEYS = "123456789"
# The next step's quick picks: (button id, the text it types, in English).
QUICK_PICKS = (("pick-1d", N_("+1d")), ("pick-3d", N_("+3d")), ("pick-week", N_("next week")))


def now_of(app: object) -> dt.datetime:
    """The app's clock (tests fix it), else the wall clock."""
    clock = getattr(app, "clock", None)
    return clock() if callable(clock) else dt.datetime.now().replace(second=0, microsecond=0)


def event_type_for(code: str, types: list[EventTypeInfo] | None = None) -> EventTypeInfo | None:
    """The event type `code` (of `types`, default all active), else the call type."""
    by_code = {t.code: t for t in (settings.event_types() if types is None else types)}
    return by_code.get(code) or by_code.get("call")


def keyed_results(event_type: EventTypeInfo | None) -> list[ResultInfo]:
    """The results of a type that have a number key (the first nine)."""
    return event_type.results[: len(RESULT_KEYS)] if event_type else []


@dataclass
class LoggedResult:
    result: str  # result code
    note: str
    next_when: dt.datetime | None
    next_type: str | None
    event_type: str = "call"  # of an unplanned call or meeting (`l`)


class WhenInput(Vertical):
    """A date/time input that shows what it understood as you type."""

    DEFAULT_CSS = """
    WhenInput { height: auto; }
    WhenInput .hint { color: $text-muted; height: 1; }
    WhenInput .hint.-error { color: $error; }
    """

    def __init__(self, placeholder: str, *, id: str | None = None, compact: bool = False) -> None:
        super().__init__(id=id)
        self._placeholder = placeholder
        self._compact = compact

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self._placeholder, classes="when", compact=self._compact)
        yield Label("", classes="hint", markup=False)

    def value(self, now: dt.datetime) -> dt.datetime | None:
        text = self.query_one(Input).value.strip()
        if not text:
            return None
        return dates.parse_when(text, now)

    def set_text(self, text: str) -> None:
        self.query_one(Input).value = text

    @on(Input.Changed)
    def _show_hint(self, event: Input.Changed) -> None:
        hint = self.query_one(".hint", Label)
        text = event.value.strip()
        if not text:
            hint.update("")
            hint.remove_class("-error")
            return
        try:
            parsed = dates.parse_when(text, now_of(self.app))
        except ValueError as exc:
            hint.update(str(exc))
            hint.add_class("-error")
        else:
            hint.update("→ " + dates.format_datetime(parsed))
            hint.remove_class("-error")


class LogResultModal(ModalScreen[LoggedResult | None]):
    """Choose a result by its number; a warm result asks for the next step."""

    # Compact (borderless) inputs and buttons: nine results, the next step and Save fit in
    # 24 lines, so the error and Save stay on screen in a small terminal.
    DEFAULT_CSS = modal_css("LogResultModal", extra="""
    LogResultModal #results { height: auto; }
    LogResultModal #note { margin-top: 1; }
    LogResultModal #next-step { height: auto; display: none; }
    LogResultModal #next-step.-shown { display: block; }
    LogResultModal #when { width: 1fr; }
    LogResultModal #when-row Button { min-width: 6; margin: 0 0 0 1; }
    LogResultModal #buttons { margin-top: 1; }
    """)
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="log.cancel"),
        Binding("ctrl+s", "save", N_("Save"), id="log.save"),
    ]

    # An unplanned call or meeting (`l`): its type by a letter before the result's number.
    TYPE_KEYS = {"c": "call", "m": "meeting"}
    QUICK_NEXT = "+1d"  # the next step a warm result starts with (Enter accepts it)

    def __init__(self, heading: str, event_type_code: str, *, default_next: str = "call",
                 switch_types: bool = False) -> None:
        super().__init__()
        translate_bindings(self)
        self.heading = heading
        self.types = settings.event_types()
        self.event_type: EventTypeInfo | None = event_type_for(event_type_code, self.types)
        self.default_next = default_next
        self.switch_types = switch_types
        self.chosen: str | None = None

    @property
    def results(self) -> list[ResultInfo]:
        return keyed_results(self.event_type)

    def _result_lines(self) -> str:
        """One line per result: its key, name, ★ if warm, ◀ if chosen."""
        return "\n".join(f"{RESULT_KEYS[i]}  {r.name}{'  ★' if r.warm else ''}"
                         + ("   ◀" if r.code == self.chosen else "")
                         for i, r in enumerate(self.results))

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading, classes="title", markup=False)
            if self.switch_types:
                yield Label(self._type_line(), id="type-line", markup=False)
            yield Static(self._result_lines(), id="results", markup=False)
            yield Label(_("Press the number of the result (★ needs a next step)."))
            yield Input(placeholder=_("Note (optional)"), id="note", compact=True)
            with Vertical(id="next-step"):
                yield Label(_("Next step — when:"))
                with Horizontal(id="when-row"):
                    yield WhenInput(_("e.g. tomorrow 10:00, +3d, пятница 11:00"), id="when",
                                    compact=True)
                    for pick_id, label in QUICK_PICKS:
                        yield Button(_(label), id=pick_id, compact=True)
                yield Select(text_choices((t.name, t.code) for t in self.types),
                             value=self._next_type(),
                             allow_blank=False, id="next-type", compact=True)
            yield Label("", classes="error", id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button(_("Save"), variant="primary", id="save", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)

    def on_mount(self) -> None:
        # Not an input: digits typed now choose a result instead of landing in a text box.
        self.query_one("#save", Button).focus()

    def _next_type(self) -> str:
        codes = [t.code for t in self.types]
        return self.default_next if self.default_next in codes else codes[0]

    def _type_line(self) -> str:
        names = {t.code: t.name for t in self.types}
        return "   ".join(f"{key} {names.get(code, code)}"
                          + (" ◀" if self.event_type and self.event_type.code == code else "")
                          for key, code in self.TYPE_KEYS.items() if code in names)

    @property
    def type_code(self) -> str:
        return self.event_type.code if self.event_type else "call"

    def on_key(self, event) -> None:  # noqa: ANN001 - a textual Key event
        if isinstance(self.focused, Input):
            return
        if self.switch_types and event.character in self.TYPE_KEYS:
            event.stop()
            self.event_type = event_type_for(self.TYPE_KEYS[event.character], self.types)
            self.chosen = None
            self.query_one("#type-line", Label).update(self._type_line())
            self.query_one("#results", Static).update(self._result_lines())
            return
        if event.character and event.character in RESULT_KEYS:
            index = RESULT_KEYS.index(event.character)
            if index < len(self.results):
                event.stop()
                self.choose(self.results[index].code)

    def choose(self, code: str) -> None:
        self.chosen = code
        result = next(r for r in self.results if r.code == code)
        self.query_one("#results", Static).update(self._result_lines())
        step = self.query_one("#next-step")
        step.set_class(True, "-shown")  # any result may plan a next step; warm ones must
        if result.warm:
            when = self.query_one("#when Input", Input)
            if not when.value.strip():
                when.value = self.QUICK_NEXT  # shown with its date; typing replaces it
            when.focus()
            when.select_all()
        else:
            self.query_one("#save", Button).focus()

    @on(Button.Pressed, "#pick-1d, #pick-3d, #pick-week")
    def _quick_pick(self, event: Button.Pressed) -> None:
        # The typed form in the user's language ("+1д", "через неделю"): the date parser
        # reads both languages, and the box shows what the button said.
        label = dict(QUICK_PICKS)[event.button.id or ""]
        self.query_one("#when", WhenInput).set_text(_(label))

    @on(Input.Submitted, "#note, #when Input")
    def _enter(self, event: Input.Submitted) -> None:
        """Enter in a text box saves (or says what is missing and moves there)."""
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save")
    def _save_button(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_button(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        error = self.query_one("#error", Label)
        if self.chosen is None:
            error.update(_("Choose a result first"))
            return
        result = next(r for r in self.results if r.code == self.chosen)
        try:
            when = self.query_one("#when", WhenInput).value(now_of(self.app))
        except ValueError as exc:
            error.update(str(exc))
            return
        if result.warm and when is None:
            error.update(_("A warm client needs a next step: when to contact again"))
            self.query_one("#when Input", Input).focus()
            return
        next_type = self.query_one("#next-type", Select).value if when else None
        self.dismiss(LoggedResult(self.chosen, self.query_one("#note", Input).value.strip(),
                                  when, str(next_type) if next_type else None, self.type_code))


@dataclass
class Moved:
    when: dt.datetime
    reason: str


class MoveModal(ModalScreen[Moved | None]):
    """Ask when to move something to and why (the reason goes into the client's history)."""

    DEFAULT_CSS = modal_css("MoveModal", 64)
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="move.cancel")]

    def __init__(self, heading: str, initial: str = "") -> None:
        super().__init__()
        translate_bindings(self)
        self.heading = heading
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading, markup=False)
            yield WhenInput(_("When: tomorrow 10:00, +1h, 31.12.2026"), id="when")
            yield Input(placeholder=_("Reason (kept in the client's history)"), id="reason")
            yield Label("", classes="error", id="error", markup=False)
            with Horizontal():
                yield Button(_("Move"), variant="primary", id="ok")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        if self.initial:
            self.query_one("#when", WhenInput).set_text(self.initial)
            self.query_one("#reason", Input).focus()
        else:
            self.query_one("#when Input", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        error = self.query_one("#error", Label)
        try:
            when = self.query_one("#when", WhenInput).value(now_of(self.app))
        except ValueError as exc:
            error.update(str(exc))
            return
        reason = self.query_one("#reason", Input).value.strip()
        if when is None:
            error.update(_("When? e.g. tomorrow 10:00"))
            return
        if not reason:
            error.update(_("Say briefly why it moves"))
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(Moved(when, reason))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def log_contact(app, actor, kind: str, record_id: int, title: str,  # noqa: ANN001
                then=None) -> None:  # noqa: ANN001 - a callable without arguments
    """Ask for an unplanned call's (or meeting's) result and log it for the client: the one
    flow behind `l` on a card and in Follow-ups."""
    from tui_crm.errors import CrmError
    from tui_crm.services.core import events

    def logged(result: LoggedResult | None) -> None:
        if result is None:
            return
        try:
            events.log_unplanned(actor, kind, record_id, result.event_type, result.result,
                                 note=result.note, next_when=result.next_when,
                                 next_type=result.next_type, now=now_of(app))
        except CrmError as exc:
            app.notify(str(exc), severity="error", markup=False)
            return
        app.notify(_("Logged: {title}").format(title=title), markup=False)
        if then is not None:
            then()

    app.push_screen(LogResultModal(title, "call", switch_types=True), logged)
