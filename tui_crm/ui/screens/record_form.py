"""The add / edit form of any record kind, as a modal screen.

Fields come from `records.field_specs(kind)` (custom fields included). Saving goes through
`records.create` / `records.update(..., expected_version=...)`: a ValidationError puts each
message under its field; a ConflictError asks the user what to do (ConflictDialog); for
organizations and contacts, possible duplicates are shown before a new record is created.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Footer, Label

from tui_crm.errors import ConflictError, CrmError, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.core import records, settings
from tui_crm.services.core.kinds import KINDS, POINT_TYPES, FieldSpec
from tui_crm.services.core.records import RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import duplicates
from tui_crm.services.duplicates.duplicates import Duplicate
from tui_crm.ui.messages import OpenRecord
from tui_crm.ui.screens.conflict import KEEP, OVERWRITE, RELOAD, ConflictDialog
from tui_crm.ui.widgets import translate_bindings
from tui_crm.ui.widgets.field_base import FieldInput
from tui_crm.ui.widgets.field_inputs import EventResultField, make_field_input
from tui_crm.ui.widgets.point_inputs import PointsField

DUPLICATE_KINDS = ("organizations", "contacts")
# Fields whose change may make the record look like another one.
# The fields the duplicate rule looks at (services/duplicates/rule.py).
DUPLICATE_FIELDS = {"name", "legal_name", "inn", "city", "phones", "emails", "last_name", "first_name",
                    "middle_name", "organization", "birthday"}
DUPLICATE_DELAY = 0.5  # seconds of quiet typing before looking for duplicates
MAX_DUPLICATES_SHOWN = 3

FormResult = RecordView | OpenRecord | None


class ConfirmDiscard(ModalScreen[bool]):
    """"Discard your changes?" — True to close the form without saving."""

    DEFAULT_CSS = """
    ConfirmDiscard {
        align: center middle;
    }
    ConfirmDiscard > Vertical {
        width: auto;
        max-width: 60;
        height: auto;
        border: round $warning;
        background: $panel;
        padding: 0 1;
    }
    ConfirmDiscard Horizontal {
        height: auto;
        margin-top: 1;
    }
    ConfirmDiscard Button {
        margin-right: 2;
    }
    """
    BINDINGS = [
        Binding("d", "answer(True)", N_("Discard"), id="confirm_discard.discard"),
        Binding("escape", "answer(False)", N_("Keep editing"), id="confirm_discard.keep"),
    ]
    AUTO_FOCUS = "#discard-keep"

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("Discard your changes?"))
            with Horizontal():
                yield Button(_("Discard"), id="discard-yes", variant="error", compact=True)
                yield Button(_("Keep editing"), id="discard-keep", variant="primary",
                             compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "discard-yes")

    def action_answer(self, discard: bool) -> None:
        self.dismiss(discard)


class RecordForm(ModalScreen[FormResult]):
    """Add (`record_id=None`) or edit a record of `kind`.

    Dismisses with the saved RecordView, with OpenRecord when the user opens a found
    duplicate instead, or with None when cancelled. `initial` pre-fills fields (typed
    values, ids or text), e.g. the organization of a new contact.
    """

    DEFAULT_CSS = """
    RecordForm {
        align: center middle;
    }
    RecordForm > #form-dialog {
        width: 100%;
        max-width: 110;
        height: 100%;
        max-height: 48;
        border: round $primary;
        background: $panel;
        padding: 0 1;
    }
    RecordForm #form-fields {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    RecordForm #duplicates {
        display: none;
        height: auto;
        max-height: 8;
        border: round $warning;
        border-title-color: $text-warning;
    }
    RecordForm #duplicates.-shown {
        display: block;
    }
    RecordForm #duplicate-rows, RecordForm .dup-row {
        height: auto;
    }
    RecordForm .dup-text {
        width: 1fr;
    }
    RecordForm .dup-open, RecordForm #dup-ignore {
        margin-left: 1;
    }
    RecordForm #form-message {
        color: $text-error;
        display: none;
    }
    RecordForm #form-message.-shown {
        display: block;
    }
    RecordForm #form-buttons {
        height: auto;
        padding-top: 1;
    }
    RecordForm #form-buttons Button {
        margin-right: 2;
    }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), priority=True, id="record_form.save"),
        Binding("escape", "cancel", N_("Cancel"), id="record_form.cancel"),
        Binding("ctrl+n", "add_row", N_("Add row"), id="record_form.add_row"),
    ]

    def __init__(self, kind: str, actor: Actor, record_id: int | None = None,
                 initial: dict | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.kind = kind
        self.actor = actor
        self.record_id = record_id
        self.initial = dict(initial or {})
        self.view: RecordView | None = None
        self._load_error = ""
        self._acknowledged: set[str] = set()
        self.duplicates: list[Duplicate] = []
        self._dup_timer: Timer | None = None
        self._save_when_acknowledged = False

    # --- building ---------------------------------------------------------------------------

    def _title(self) -> str:
        spec = KINDS.get(self.kind)
        what = _(spec.singular) if spec else self.kind
        if self.view is None:
            return _("{kind} — new record").format(kind=what)
        return _("{kind} #{id} — {title}").format(kind=what, id=self.view.id,
                                                   title=self.view.title)

    def _start_value(self, spec: FieldSpec, view: RecordView | None,
                     use_initial: bool = True) -> tuple[Any, str | None]:
        """The value a field opens with, and the display name of a reference."""
        if use_initial and spec.name in self.initial:
            return self.initial[spec.name], None
        if view is not None:
            if spec.type in POINT_TYPES:
                return view.points_of(POINT_TYPES[spec.type]), None
            if spec.type == "tags":
                return list(view.tags), None
            return view.get(spec.name), view.display.get(spec.name) or None
        kind_spec = KINDS.get(self.kind)
        if kind_spec and spec.name == kind_spec.owner_field:
            return self.actor.user_id, None  # a new record is the author's by default
        if spec.type == "event_type" and spec.required:
            types = settings.event_types()
            return (types[0].id if types else None), None
        return None, None

    def compose(self) -> ComposeResult:
        specs: list[FieldSpec] = []
        try:
            if self.record_id is not None:
                self.view = records.get(self.actor, self.kind, self.record_id)
            specs = [s for s in records.field_specs(self.kind) if s.editable]
        except CrmError as exc:
            self._load_error = str(exc)
        starts = {s.name: self._start_value(s, self.view) for s in specs}
        context = {name: value for name, (value, _d) in starts.items()}
        with Vertical(id="form-dialog") as dialog:
            dialog.border_title = self._title()
            with VerticalScroll(id="form-fields") as scroll:
                scroll.can_focus = False
                for spec in specs:
                    value, display = starts[spec.name]
                    yield make_field_input(self.kind, spec, self.actor, value=value,
                                           display=display, context=context)
            with Vertical(id="duplicates"):
                yield Vertical(id="duplicate-rows")
                yield Button(_("Create anyway") if self.record_id is None else _("Ignore"),
                             id="dup-ignore", compact=True)
            yield Label("", id="form-message", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button(_("Save"), id="form-save", variant="primary", compact=True)
                yield Button(_("Cancel"), id="form-cancel", compact=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        if self._load_error:
            self.notify(self._load_error, severity="error", markup=False)
            self.dismiss(None)
            return
        # Selects take their values when mounted: remember "unchanged" after that.
        self.call_after_refresh(self._mark_clean)

    def _mark_clean(self) -> None:
        for field in self.fields:
            field.mark_clean()

    # --- access -----------------------------------------------------------------------------

    @property
    def fields(self) -> list[FieldInput]:
        return list(self.query(FieldInput))

    def field(self, name: str) -> FieldInput | None:
        try:
            return self.query_one(f"#field-{name}", FieldInput)
        except NoMatches:
            return None

    @property
    def is_dirty(self) -> bool:
        return any(f.is_dirty for f in self.fields)

    @property
    def message(self) -> str:
        label = self.query_one("#form-message", Label)
        return str(label.content) if label.has_class("-shown") else ""

    def _set_message(self, text: str) -> None:
        label = self.query_one("#form-message", Label)
        label.update(text)
        label.set_class(bool(text), "-shown")

    def collect(self, *, only_changed: bool = False) -> dict[str, Any]:
        """The data dict for records.create / records.update.

        A new record gets only the fields filled in, so the service's defaults (and rules
        that depend on them, like a lead's source) apply to the rest.
        """
        data = {f.spec.name: f.get_value() for f in self.fields
                if not only_changed or f.is_dirty}
        if self.record_id is None:
            data = {k: v for k, v in data.items() if v not in (None, "", [])}
        return data

    # --- reacting to edits ------------------------------------------------------------------

    @on(FieldInput.Edited)
    def _field_edited(self, event: FieldInput.Edited) -> None:
        field = event.field_input
        if field.has_class("-invalid"):
            field.show_error(None)  # the user is fixing it
        if field.spec.type == "event_type":
            value = field.get_value()
            for result in self.query(EventResultField):
                result.filter_by_type(value if isinstance(value, int) else None)
        if self.kind in DUPLICATE_KINDS and field.spec.name in DUPLICATE_FIELDS \
                and (self.record_id is None or field.is_dirty):
            if self._dup_timer is not None:
                self._dup_timer.stop()
            self._dup_timer = self.set_timer(DUPLICATE_DELAY, self.check_duplicates)

    def _duplicate_values(self) -> dict[str, Any]:
        return {f.spec.name: f.get_value() for f in self.fields
                if f.spec.name in DUPLICATE_FIELDS}

    def check_duplicates(self, *, from_save: bool = False) -> list[Duplicate]:
        """Look for existing records like this one; show the new ones in the warning panel."""
        if self.kind not in DUPLICATE_KINDS or not self.is_attached:
            return []
        found: list[Duplicate] = []
        wanted = self._duplicate_values()
        if any(wanted.values()):
            try:
                found = duplicates.find(self.actor, self.kind, wanted, exclude_id=self.record_id)
            except CrmError:
                found = []  # a failed look-up must not block saving
        fresh = [d for d in found if d.key not in self._acknowledged]
        self._save_when_acknowledged = from_save and bool(fresh)
        self._show_duplicates(fresh)
        return fresh

    def _show_duplicates(self, found: list[Duplicate]) -> None:
        panel = self.query_one("#duplicates", Vertical)
        panel.set_class(bool(found), "-shown")
        panel.border_title = _("Possible duplicate")
        same = [(d.key, d.reasons) for d in found] == [(d.key, d.reasons)
                                                        for d in self.duplicates]
        self.duplicates = found
        if same:
            return  # already shown: no flicker while the user types
        rows = self.query_one("#duplicate-rows", Vertical)
        rows.remove_children()
        # No ids on these rows: a new look-up may replace them before the old are gone.
        rows.mount_all(self._duplicate_row(dup) for dup in found[:MAX_DUPLICATES_SHOWN])

    @staticmethod
    def _duplicate_row(dup: Duplicate) -> Horizontal:
        reasons = ", ".join(dup.reasons)
        owner = dup.owner or _("nobody")
        if dup.hidden:  # another manager's client: whose it is, not what it is
            return Horizontal(Label(_("Looks like a client of {owner} you cannot open (same "
                                      "{reasons})").format(owner=owner, reasons=reasons),
                                    classes="dup-text", markup=False), classes="dup-row")
        return Horizontal(
            Label(_("Looks like {title} — client of {owner} (same {reasons})").format(
                title=dup.title, owner=owner, reasons=reasons), classes="dup-text",
                markup=False),
            Button(_("Open it"), classes="dup-open", name=str(dup.id), compact=True),
            classes="dup-row")

    @property
    def duplicate_lines(self) -> list[str]:
        """The warnings as shown (for tests and screen readers)."""
        return [str(label.content) for label in self.query(".dup-text").results(Label)]

    @on(Button.Pressed, ".dup-open")
    def _open_duplicate(self, event: Button.Pressed) -> None:
        event.stop()
        record_id = int(event.button.name or 0)
        dup = next((d for d in self.duplicates if d.id == record_id), None)
        self.dismiss(OpenRecord(dup.section if dup else self.kind, record_id))

    @on(Button.Pressed, "#dup-ignore")
    def _ignore_duplicates(self, event: Button.Pressed) -> None:
        event.stop()
        self._acknowledged |= {d.key for d in self.duplicates}
        save = self._save_when_acknowledged
        self._show_duplicates([])
        self._save_when_acknowledged = False
        if save:
            self.action_save()
        else:
            self._focus_first_field()

    def _focus_duplicates(self) -> None:
        buttons = self.query(".dup-open")
        if buttons:
            buttons.first().focus()

    def _focus_first_field(self) -> None:
        fields = self.fields
        if fields:
            fields[0].focus_editor()

    # --- actions ----------------------------------------------------------------------------

    @on(Button.Pressed, "#form-save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#form-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_save(self) -> None:
        if self._load_error:
            return
        if self._dup_timer is not None:
            self._dup_timer.stop()
        if self.record_id is None and self.kind in DUPLICATE_KINDS:
            if self.check_duplicates(from_save=True):
                self._set_message(_("Not saved yet: this looks like an existing record."))
                self.call_after_refresh(self._focus_duplicates)
                return
        data = self.collect(only_changed=self.record_id is not None)
        self._write(data)

    def _write(self, data: dict[str, Any], expected_version: int | None = None) -> None:
        for field in self.fields:
            field.show_error(None)
        self._set_message("")
        try:
            if self.record_id is None:
                view = records.create(self.actor, self.kind, data)
            else:
                version = expected_version if expected_version is not None else (
                    self.view.version if self.view else None)
                view = records.update(self.actor, self.kind, self.record_id, data,
                                      expected_version=version)
        except ValidationError as exc:
            self._show_errors(exc.errors)
            return
        except ConflictError as exc:
            self.app.push_screen(ConflictDialog(exc, original=self.view),
                                 callback=partial(self._conflict_answered, exc, data))
            return
        except CrmError as exc:
            self._set_message(str(exc))
            return
        self.dismiss(view)

    def _show_errors(self, errors: dict[str, str]) -> None:
        other: list[str] = []
        first: FieldInput | None = None
        for name, message in errors.items():
            field = self.field(name)
            if field is None:
                other.append(f"{settings.field_label(self.kind, name)}: {message}")
                continue
            field.show_error(message)
            if first is None:
                first = field
        text = _("Not saved: fix the marked fields.") if first else _("Not saved.")
        self._set_message(" ".join([text, *other]))
        if first is not None:
            first.focus_editor()
            self.call_after_refresh(first.scroll_visible)

    def _conflict_answered(self, error: ConflictError, data: dict[str, Any],
                           choice: str | None) -> None:
        if choice == RELOAD and error.current is not None:
            self.load(error.current)
            self.notify(_("Reloaded the saved version; your edits were dropped."),
                        markup=False)
        elif choice == OVERWRITE and error.current is not None:
            self._write(data, expected_version=error.current.version)
        elif choice in (KEEP, None):
            self._set_message(_("Not saved: someone else changed this record."))

    def load(self, view: RecordView) -> None:
        """Show `view` in the form (after a reload), as unchanged."""
        self.view = view
        self.query_one("#form-dialog").border_title = self._title()
        for field in self.fields:
            value, display = self._start_value(field.spec, view, use_initial=False)
            field.set_value(value, display)
            field.show_error(None)
        self._set_message("")
        self.call_after_refresh(self._mark_clean)

    def action_cancel(self) -> None:
        if not self.is_dirty:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmDiscard(), callback=answered)

    def _points_field(self) -> PointsField | None:
        focused = self.focused
        if focused is not None:
            for node in focused.ancestors_with_self:
                if isinstance(node, PointsField):
                    return node
        found = list(self.query(PointsField))
        return found[0] if found else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "add_row":
            return bool(KINDS.get(self.kind) and KINDS[self.kind].has_points)
        return True

    async def action_add_row(self) -> None:
        field = self._points_field()
        if field is not None:
            await field.add_row()  # awaited: the keys typed next go into the new row
