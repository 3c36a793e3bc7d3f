"""Merging two duplicates side by side: each field takes the kept record's value, the
other's, or (notes, phones, e-mails, tags) both.

← keeps this record's value, → takes the other's, + joins both, Ctrl+S merges. The other
record's events, deals, tasks, notes, links and contacts move to the kept one; it goes to
the trash.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Label, Static

from tui_crm.db.database import current
from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import merging
from tui_crm.services.duplicates.merging import FieldChoice, MergeResult
from tui_crm.ui.widgets import PlainTable, translate_bindings
from tui_crm.ui.workers import forgets_worker

MARKS = {"keep": "←", "other": "→", "both": "+"}
JOINABLE = {"notes", "phones", "emails", "messengers", "tags"}


class MergeScreen(ModalScreen[MergeResult | None]):
    """Merge `other_id` into `keep_id`; dismisses with the MergeResult or None."""

    DEFAULT_CSS = """
    MergeScreen { align: center middle; }
    MergeScreen > #merge-dialog {
        width: 100%; max-width: 130; height: 100%; max-height: 40;
        border: round $warning; background: $panel; padding: 0 1;
    }
    MergeScreen #merge-title { text-style: bold; }
    MergeScreen DataTable { height: 1fr; }
    MergeScreen .buttons { height: auto; }
    MergeScreen .buttons Button { margin-right: 2; }
    MergeScreen #merge-error { color: $text-error; height: auto; }
    """
    BINDINGS = [
        Binding("left", "choose('keep')", N_("Keep this"), priority=True, id="merge.keep"),
        Binding("right", "choose('other')", N_("Take the other"), priority=True,
                id="merge.other"),
        Binding("plus,b", "choose('both')", N_("Both"), id="merge.both"),
        Binding("s", "swap", N_("Swap"), id="merge.swap"),
        Binding("ctrl+s", "merge", N_("Merge"), priority=True, id="merge.merge"),
        Binding("escape", "cancel", N_("Cancel"), id="merge.cancel"),
    ]

    def __init__(self, actor: Actor, kind: str, keep_id: int, other_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.actor = actor
        self.kind = kind
        self.keep_id = keep_id
        self.other_id = other_id
        self.fields: list[FieldChoice] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="merge-dialog"):
            yield Label("", id="merge-title", markup=False)
            yield Label(_("← keep this value · → take the other · + both · S swap ·"
                          " Ctrl+S merge"))
            yield PlainTable(id="merge-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="merge-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Merge"), id="merge-do", variant="warning")
                yield Button(_("Cancel"), id="merge-cancel")
            yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        try:
            self.fields = merging.compare(self.actor, self.kind, self.keep_id, self.other_id)
        except CrmError as exc:
            self.query_one("#merge-error", Static).update(str(exc))
            self.fields = []
        self.query_one("#merge-title", Label).update(
            _("Merge #{other} into #{keep} (#{other} goes to the trash; its events, deals and"
              " contacts move)").format(other=self.other_id, keep=self.keep_id))
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column(_("Field"), key="field")
        table.add_column(_("Keep #{id}").format(id=self.keep_id), key="keep", width=44)
        table.add_column(_("Other #{id}").format(id=self.other_id), key="other", width=44)
        table.add_column("", key="choice", width=3)
        for f in self.fields:
            if not (f.keep_text or f.other_text):
                continue
            table.add_row(f.label, _cell(f.keep_text), _cell(f.other_text), MARKS[f.choice],
                          key=f.name)
        table.focus()

    def _current(self) -> FieldChoice | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((f for f in self.fields if f.name == key), None)

    def action_choose(self, choice: str) -> None:
        current = self._current()
        if current is None:
            return
        if choice == "both" and current.name not in JOINABLE:
            self.notify(_("Only notes, phones, e-mails and tags can be joined."),
                        severity="warning", markup=False)
            return
        current.choice = choice
        self.query_one(DataTable).update_cell(current.name, "choice", MARKS[choice])

    def action_swap(self) -> None:
        self.keep_id, self.other_id = self.other_id, self.keep_id
        self.load()

    @on(Button.Pressed, "#merge-do")
    def action_merge(self) -> None:
        choices = {f.name: f.choice for f in self.fields}
        self._merge(choices)

    @work(thread=True, exclusive=True, group="merge", exit_on_error=False)
    @forgets_worker
    def _merge(self, choices: dict[str, str]) -> None:
        try:
            with current().connection_context():
                result = merging.merge(self.actor, self.kind, self.keep_id, self.other_id,
                                       choices)
        except CrmError as exc:
            self.app.call_from_thread(self.query_one("#merge-error", Static).update, str(exc))
            return
        self.app.call_from_thread(self.dismiss, result)

    @on(Button.Pressed, "#merge-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _cell(text: str) -> str:
    one = " / ".join(text.splitlines())
    return one if len(one) <= 44 else one[:43] + "…"
