"""Call-block mode: one client at a time — the card and history show, one key per result logs
the call, a warm client needs a next step, then the next client. Live counts of the block."""

from __future__ import annotations

import datetime as dt

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Label, Static

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import events
from tui_crm.services.planning import planning
from tui_crm.services.planning.planning import BlockRunView
from tui_crm.ui.screens.log_result import (
    RESULT_KEYS,
    LoggedResult,
    LogResultModal,
    event_type_for,
    keyed_results,
    now_of,
)
from tui_crm.ui.widgets import FooterScreen, translate_bindings


class CallBlockScreen(FooterScreen[None]):
    """A focused flow through one block's list; leaving and coming back resumes."""

    DEFAULT_CSS = """
    CallBlockScreen #counter { height: 1; background: $primary; color: $text; padding: 0 1; }
    CallBlockScreen #client { height: auto; padding: 0 1; border: round $primary; }
    CallBlockScreen #results { height: auto; padding: 0 1; }
    CallBlockScreen #history { height: 1fr; padding: 0 1; border: round $panel; }
    CallBlockScreen #queue { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "leave", N_("Leave block"), id="block.leave"),
        Binding("n,down,j", "skip(1)", N_("Next client"), id="block.next"),
        Binding("p,up,k", "skip(-1)", N_("Previous client"), id="block.prev"),
        Binding("o", "open_client", N_("Open card"), id="block.open"),
    ]

    def __init__(self, actor, day: dt.date, block_key: str) -> None:  # noqa: ANN001
        super().__init__()
        translate_bindings(self)
        self.actor = actor
        self.day = day
        self.block_key = block_key
        self.run: BlockRunView | None = None

    def compose(self) -> ComposeResult:
        # Client names are text, never markup (a "[/b]" in a name would stop the screen).
        yield Label("", id="counter", markup=False)
        with Vertical():
            yield Static("", id="client", markup=False)
            yield Static("", id="results", markup=False)
            with VerticalScroll(id="history"):
                yield Static("", id="history-text", markup=False)
            yield Static("", id="queue", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        try:
            self.run = planning.block_run(self.actor, self.day, self.block_key,
                                          now=now_of(self.app))
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            self.dismiss(None)
            return
        self._redraw()

    def _redraw(self) -> None:
        run = self.run
        assert run is not None
        counter = _("Block {start}–{end} · calls {calls}/{total} · decision makers {dm} · "
                    "meetings set {meetings} · {left} min left").format(
            start=run.block.key, end=run.block.end.strftime("%H:%M"), calls=run.calls_made,
            total=len(run.items), dm=run.decision_makers, meetings=run.meetings_set,
            left=run.minutes_left)
        self.query_one("#counter", Label).update(counter)
        item = run.current
        client = self.query_one("#client", Static)
        results = self.query_one("#results", Static)
        history = self.query_one("#history-text", Static)
        if item is None:
            client.update(Text(_("The block is done: {calls} calls logged. Esc to leave.").format(
                calls=run.calls_made), style="bold green"))
            results.update("")
            history.update("")
            self.query_one("#queue", Static).update("")
            return
        card = Text()
        card.append(f"{run.position + 1}/{len(run.items)}  ", style="dim")
        card.append(item.organization or item.contact or "—", style="bold")
        card.append(f"  {item.starts_at:%H:%M} {item.type_name}\n")
        if item.contact and item.organization:
            card.append(_("Contact") + ": " + item.contact + "\n")
        if item.decision_maker:
            card.append(_("Decision maker") + ": " + item.decision_maker + "\n")
        if item.phone:
            digits = "".join(ch for ch in item.phone if ch.isdigit() or ch == "+")
            card.append(_("Phone") + ": ")
            card.append(item.phone, style=Style(bold=True, color="cyan", link=f"tel:{digits}"))
            card.append("\n")
        if item.email:
            card.append(_("E-mail") + ": ")
            card.append(item.email, style=Style(link=f"mailto:{item.email}"))  # not parsed
            card.append("\n")
        if item.source:
            card.append(_("Source") + ": " + item.source + "\n")
        if item.last_result:
            card.append(_("Last result") + ": " + item.last_result + "\n")
        if item.status == "done":
            card.append(_("Already logged.") + "\n", style="green")
        client.update(card)
        lines = Text()
        for i, r in enumerate(keyed_results(event_type_for(item.type_code))):
            lines.append(f" {RESULT_KEYS[i]} ", style="reverse")
            lines.append(f" {r.name}{' ★' if r.warm else ''}   ")
        results.update(lines)
        history.update(self._history(item))
        upcoming = [i.organization or i.contact for i in run.items[run.position + 1:
                                                                     run.position + 4]]
        self.query_one("#queue", Static).update(
            _("Next: {names}").format(names=", ".join(upcoming)) if upcoming else "")

    def _history(self, item: planning.DayItem) -> Text:
        kind, record_id = ("organizations", item.organization_id) if item.organization_id \
            else ("contacts", item.contact_id)
        text = Text()
        if not record_id:
            return text
        try:
            past = events.history(self.actor, kind, record_id, limit=30)
        except CrmError:
            return text
        for e in past:
            text.append(f"{e.display.get('starts_at', '')}  ", style="dim")
            text.append(f"{e.display.get('event_type', '')} ")
            text.append(e.display.get("status", ""), style="italic")
            if e.display.get("result"):
                text.append(f" — {e.display['result']}", style="bold")
            if e.values.get("result_note"):
                text.append(f"  {e.values['result_note']}", style="dim")
            text.append("\n")
        return text

    def on_key(self, event) -> None:  # noqa: ANN001 - a textual Key event
        if not event.character or event.character not in RESULT_KEYS:
            return
        run = self.run
        if run is None or run.current is None:
            return
        event.stop()
        kind = event_type_for(run.current.type_code)
        index = RESULT_KEYS.index(event.character)
        if kind is None or index >= len(kind.results):
            return
        result = kind.results[index]
        if result.warm:
            modal = LogResultModal(f"{result.name}: {run.current.organization}",
                                   run.current.type_code)

            def after(logged: LoggedResult | None) -> None:
                if logged is not None:
                    self._log(logged.result, logged.note, logged.next_when, logged.next_type)

            self.app.push_screen(modal, after)
            modal.call_after_refresh(modal.choose, result.code)
        else:
            self._log(result.code, "", None, None)

    def _log(self, result: str, note: str, when: dt.datetime | None, next_type: str | None
             ) -> None:
        run = self.run
        assert run is not None and run.current is not None
        try:
            planning.log_in_block(self.actor, self.day, self.block_key, run.current, result,
                                  note=note, next_when=when, next_type=next_type,
                                  now=now_of(self.app))
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.reload()

    def action_skip(self, delta: int) -> None:
        run = self.run
        if run is None:
            return
        position = max(0, min(len(run.items), run.position + delta))
        planning.set_block_position(self.actor, self.day, self.block_key, position)
        self.reload()

    def action_open_client(self) -> None:
        run = self.run
        opener = getattr(self.app, "open_record", None)
        if run is None or run.current is None or opener is None:
            return
        item = run.current
        self.dismiss(None)
        if item.organization_id:
            opener("organizations", item.organization_id)
        elif item.contact_id:
            opener("contacts", item.contact_id)

    def action_leave(self) -> None:
        self.dismiss(None)

