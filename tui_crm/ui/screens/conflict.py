"""The choice shown when someone else saved a record while it was open in a form.

Nothing has been written when this appears. The user reloads (drops their edits), overwrites
(saves their edits over the newer version, on purpose) or goes back to the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from tui_crm.errors import ConflictError
from tui_crm.i18n import N_, _
from tui_crm.services.core import lookups, records, settings, values
from tui_crm.services.core.kinds import POINT_TYPES, FieldSpec
from tui_crm.services.core.records import RecordView
from tui_crm.ui.widgets import translate_bindings

RELOAD = "reload"
OVERWRITE = "overwrite"
KEEP = "keep"


@dataclass(frozen=True)
class ConflictRow:
    """One field that differs: its label, the value now saved, and the user's value."""

    field: str
    label: str
    theirs: str
    mine: str


def _view_text(view: RecordView | None, name: str) -> str:
    if view is None:
        return ""
    if name in POINT_TYPES:
        return "; ".join(p.value for p in view.points_of(POINT_TYPES[name]))
    if name == "tags":
        return ", ".join(view.tags)
    if name in view.display:
        return view.display[name]
    value = view.get(name)
    return "" if value is None else str(value)


def _value_text(spec: FieldSpec | None, value: Any) -> str:
    """A cleaned (typed) value of the field `spec` as the user would read it."""
    if value is None:
        return ""
    if spec is None:
        return str(value)
    if spec.type in POINT_TYPES:
        return "; ".join(v[1] if isinstance(v, tuple | list) else str(v) for v in value)
    if spec.type == "tags":
        return ", ".join(str(v) for v in value)
    if spec.is_reference and isinstance(value, int):
        return lookups.names(spec.type, [value]).get(value, f"#{value}")
    return values.display(spec.type, value, choices=spec.choices)


def conflict_rows(error: ConflictError, original: RecordView | None = None) -> list[ConflictRow]:
    """The fields the other person changed (or, without the version the form started from,
    the fields where the saved value and the user's differ)."""
    current: RecordView | None = error.current
    kind = current.kind if current is not None else ""
    # Read once: the field list includes the custom fields (a query).
    specs = {f.name: f for f in records.field_specs(kind)} if kind else {}
    editable = [name for name, f in specs.items() if f.editable]
    names: list[str] = []
    if original is not None and current is not None:
        names = [n for n in editable if _view_text(original, n) != _view_text(current, n)]
    if not names:
        names = list(error.changes)
    rows = []
    for name in names:
        if name in error.changes:
            mine = _value_text(specs.get(name), error.changes[name][1])
        else:
            mine = _view_text(original, name)
        label = settings.field_label(kind, name) if kind else name
        rows.append(ConflictRow(name, label, _view_text(current, name), mine))
    return rows


class ConflictDialog(ModalScreen[str]):
    """Dismisses with "reload", "overwrite" or "keep" (Esc)."""

    DEFAULT_CSS = """
    ConflictDialog {
        align: center middle;
    }
    ConflictDialog > #conflict-dialog {
        width: 100%;
        max-width: 96;
        height: auto;
        max-height: 100%;
        border: round $error;
        background: $panel;
        padding: 0 1;
    }
    ConflictDialog #conflict-message, ConflictDialog #conflict-mine,
    ConflictDialog #conflict-help {
        width: 1fr;
    }
    ConflictDialog #conflict-message {
        margin-bottom: 1;
    }
    ConflictDialog #conflict-table-scroll {
        height: auto;
        max-height: 12;
    }
    ConflictDialog #conflict-table {
        grid-size: 3;
        grid-columns: 1fr 2fr 2fr;
        grid-gutter: 0 1;
        height: auto;
    }
    ConflictDialog #conflict-table Label {
        width: 1fr;
    }
    ConflictDialog .conflict-head {
        text-style: bold;
        color: $text-muted;
    }
    ConflictDialog #conflict-help {
        color: $text-muted;
        margin-top: 1;
    }
    ConflictDialog #conflict-buttons {
        height: auto;
        margin-top: 1;
    }
    ConflictDialog #conflict-buttons Button {
        margin-right: 2;
    }
    """
    BINDINGS = [
        Binding("r", "choose('reload')", N_("Reload"), id="conflict.reload"),
        Binding("o", "choose('overwrite')", N_("Overwrite"), id="conflict.overwrite"),
        Binding("escape", "choose('keep')", N_("Keep editing"), id="conflict.keep"),
    ]
    AUTO_FOCUS = "#conflict-keep"

    def __init__(self, error: ConflictError, original: RecordView | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.error = error
        self.original = original
        self.rows = conflict_rows(error, original)
        kind = error.current.kind if error.current is not None else ""
        # The fields the user's save would have changed (labels, as shown in the form).
        self.mine_fields = [settings.field_label(kind, name) if kind else name
                            for name in error.changes]

    def compose(self) -> ComposeResult:
        with Vertical(id="conflict-dialog") as dialog:
            dialog.border_title = _("Someone else changed this record")
            yield Label(str(self.error), id="conflict-message", markup=False)
            with VerticalScroll(id="conflict-table-scroll") as scroll:
                scroll.can_focus = False
                with Grid(id="conflict-table"):
                    yield Label(_("Field"), classes="conflict-head")
                    yield Label(_("Saved now"), classes="conflict-head")
                    yield Label(_("Yours"), classes="conflict-head")
                    for row in self.rows:
                        yield Label(row.label, classes="conflict-field", markup=False)
                        yield Label(row.theirs or "—", classes="conflict-theirs", markup=False)
                        yield Label(row.mine or "—", classes="conflict-mine", markup=False)
            if self.mine_fields:
                yield Label(_("You changed: {fields}").format(fields=", ".join(self.mine_fields)),
                            id="conflict-mine", markup=False)
            yield Label(_("Reload: drop your edits and show the saved record. Overwrite: save "
                          "your edits over it. Keep editing: back to the form, nothing "
                          "saved."), id="conflict-help")
            with Horizontal(id="conflict-buttons"):
                yield Button(_("Reload"), id="conflict-reload", compact=True)
                yield Button(_("Overwrite"), id="conflict-overwrite", variant="error",
                             compact=True)
                yield Button(_("Keep editing"), id="conflict-keep", variant="primary",
                             compact=True)
        yield Footer(show_command_palette=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        choice = {"conflict-reload": RELOAD, "conflict-overwrite": OVERWRITE,
                  "conflict-keep": KEEP}.get(event.button.id or "")
        if choice:
            self.dismiss(choice)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
