"""Global quick search (Ctrl+F, or the palette): results from every section as you type;
Enter opens the record in its section."""

from __future__ import annotations

from typing import ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from tui_crm.i18n import N_, _
from tui_crm.services.core import settings
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search
from tui_crm.services.search.search import Hit
from tui_crm.ui.widgets import translate_bindings
from tui_crm.ui.workers import in_query_thread


class QuickSearch(ModalScreen[Hit | None]):
    """Type, see hits from every section, Enter opens one."""

    DEFAULT_CSS = """
    QuickSearch { align: center top; }
    QuickSearch > Vertical {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 80%;
        margin-top: 2;
        border: thick $primary;
        background: $surface;
    }
    QuickSearch Input { margin: 0 1; }
    QuickSearch OptionList { height: auto; max-height: 24; border: none; }
    QuickSearch #search-hint { color: $text-muted; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close"), id="search.close"),
        Binding("down", "to_results", N_("Results"), show=False, id="search.results"),
    ]

    def __init__(self, actor: Actor, text: str = "") -> None:
        super().__init__()
        translate_bindings(self)
        self.actor = actor
        self.initial = text
        self.hits: list[Hit] = []
        self._searching = False
        self._wanted: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(self.initial, placeholder=_("Search everything: name, phone, e-mail…"),
                        id="search-input")
            yield Static(_("Type at least one letter or digit"), id="search-hint",
                         markup=False)
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self.query_one("#search-input", Input).focus()
        if self.initial:
            self._search(self.initial)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._search(event.value)

    def _search(self, text: str) -> None:
        if self._searching:
            self._wanted = text  # latest wins
            return
        self._searching = True
        self.run_worker(in_query_thread(self._run, text), group="quick-search",
                        exit_on_error=False)

    def _run(self, text: str) -> tuple[str, list[Hit]]:
        return text, search.quick_search(self.actor, text, limit=30)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "quick-search":
            return
        if event.state == WorkerState.SUCCESS:
            text, hits = cast("tuple[str, list[Hit]]", event.worker.result)
            if self._wanted is None:
                self._show(text, hits)
        elif event.state == WorkerState.ERROR:
            self.notify(str(event.worker.error), severity="error", markup=False)
        else:
            return
        self._searching = False
        if self._wanted is not None:
            text, self._wanted = self._wanted, None
            self._search(text)

    @property
    def busy(self) -> bool:
        return self._searching or self._wanted is not None

    def _show(self, text: str, hits: list[Hit]) -> None:
        self.hits = hits
        results = self.query_one("#search-results", OptionList)
        names = {s.key: s.name for s in settings.sections(include_hidden=True)}
        options = []
        for index, hit in enumerate(hits):
            line = Text.assemble((f"{names.get(hit.section, hit.section):<14} ", "dim"),
                                 (hit.title or f"#{hit.id}", "bold"))
            options.append(Option(line, id=str(index)))
        results.set_options(options)
        if options:
            results.highlighted = 0
        hint = self.query_one("#search-hint", Static)
        if not text.strip():
            hint.update(_("Type at least one letter or digit"))
        elif not hits:
            hint.update(_("Nothing found"))
        else:
            hint.update(_("Found: {count}. Enter opens, ↓ to choose").format(count=len(hits)))

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        results = self.query_one("#search-results", OptionList)
        index = results.highlighted
        if self.hits and index is not None and not self.busy:
            self.dismiss(self.hits[index])
        elif self.busy:
            # Enter pressed while the last letters are still being searched: open after.
            self.call_after_refresh(self._submit_when_ready)

    def _submit_when_ready(self) -> None:
        if self.busy:
            self.set_timer(0.02, self._submit_when_ready)
            return
        results = self.query_one("#search-results", OptionList)
        if self.hits and results.highlighted is not None:
            self.dismiss(self.hits[results.highlighted])

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(self.hits[int(event.option.id)])

    def action_to_results(self) -> None:
        self.query_one("#search-results", OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)
