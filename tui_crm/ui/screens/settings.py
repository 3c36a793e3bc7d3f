"""The Settings section: sections, field labels, custom fields, event types (admin only),
and everyone's own theme and language.

Every change goes through `tui_crm.services.core.settings` (which checks the rights again), shows a
service's validation message on the tab's error line, and after success posts
`SettingsChanged` so the app re-renders the sidebar, tables and forms.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    Select,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from tui_crm import paths
from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import N_, _, get_language, set_language
from tui_crm.services.core import settings
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.rights import Actor
from tui_crm.services.core.translit import slug
from tui_crm.ui.messages import SettingsChanged
from tui_crm.ui.themes import available_theme_names
from tui_crm.ui.widgets import translate_bindings

# Shown in their own language whatever the interface language is.
LANGUAGE_NAMES = (("English", "en"), ("Русский", "ru"))


def error_text(exc: CrmError) -> str:
    """One line for the user: a ValidationError's messages without the internal field names."""
    if isinstance(exc, ValidationError) and exc.errors:
        return "; ".join(exc.errors.values())
    return str(exc)


def _set_options(lst: OptionList, options: list[Option], keep: str | None) -> None:
    """Fill a settings list, highlighting the option `keep` again (else the first)."""
    lst.set_options(options)
    if options:
        lst.highlighted = next((i for i, o in enumerate(options) if o.id == keep), 0)


class SettingsTab(Vertical):
    """One tab of the settings: its widgets, an error line, and the call-a-service helper."""

    def __init__(self, actor: Actor, **kwargs) -> None:  # noqa: ANN003 - Widget options
        super().__init__(**kwargs)
        self.actor = actor

    def on_mount(self) -> None:
        translate_bindings(self)

    def error_line(self) -> Label:
        return Label("", classes="settings-error", markup=False)

    def show_error(self, message: str) -> None:
        label = self.query_one(".settings-error", Label)
        label.update(message)
        label.display = bool(message)

    def run_service(self, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201 - any service
        """Run a service call; on a user error show it and return None (nothing changed)."""
        try:
            result = fn(*args, **kwargs)
        except CrmError as exc:
            self.show_error(error_text(exc))
            return None
        self.show_error("")
        return result if result is not None else True

    def changed(self) -> None:
        self.post_message(SettingsChanged())


class _ListWithKeys(OptionList):
    """An option list whose extra keys are handled by the tab it sits in."""

    def _tab(self) -> SettingsTab:
        return self.query_ancestor(SettingsTab)


class SectionList(_ListWithKeys):
    BINDINGS = [
        Binding("space", "toggle_hidden", N_("Hide/show"), id="settings.section.toggle"),
        Binding("ctrl+up", "move(-1)", N_("Move up"), id="settings.section.up"),
        Binding("ctrl+down", "move(1)", N_("Move down"), id="settings.section.down"),
        Binding("r", "rename", N_("Rename"), id="settings.section.rename"),
    ]

    def on_mount(self) -> None:
        translate_bindings(self)

    def action_toggle_hidden(self) -> None:
        self._tab().toggle_hidden()  # type: ignore[attr-defined]

    def action_move(self, step: int) -> None:
        self._tab().move(step)  # type: ignore[attr-defined]

    def action_rename(self) -> None:
        self._tab().query_one("#section-name", Input).focus()


class SectionsTab(SettingsTab):
    """Hide, show, rename and reorder the sidebar's sections (for everyone)."""

    def compose(self) -> ComposeResult:
        yield SectionList(id="section-list", classes="settings-list")
        with Horizontal(classes="settings-row"):
            yield Input(placeholder=_("New name (empty = the default name)"), id="section-name",
                        compact=True)
            yield Button(_("Rename"), id="section-rename", compact=True)
        with Horizontal(classes="settings-row"):
            yield Button(_("Hide/show"), id="section-toggle", compact=True)
            yield Button(_("Move up"), id="section-up", compact=True)
            yield Button(_("Move down"), id="section-down", compact=True)
        yield self.error_line()

    def on_mount(self) -> None:
        self.refill()

    def refill(self, keep: str | None = None) -> None:
        lst = self.query_one(SectionList)
        keep = keep or self.current_key()
        options = []
        for info in settings.sections(include_hidden=True):
            if info.hidden:
                prompt = Content.assemble((info.name, "dim"), "  ",
                                          (_("(hidden)"), "italic dim"))
            else:
                prompt = Content(info.name)
            options.append(Option(prompt, id=info.key))
        _set_options(lst, options, keep)

    def current_key(self) -> str | None:
        option = self.query_one(SectionList).highlighted_option
        return option.id if option else None

    def _info(self, key: str) -> settings.SectionInfo | None:
        return next((s for s in settings.sections(include_hidden=True) if s.key == key), None)

    @on(OptionList.OptionHighlighted, "#section-list")
    def _prefill(self, event: OptionList.OptionHighlighted) -> None:
        info = self._info(event.option.id or "")
        if info is not None:
            self.query_one("#section-name", Input).value = info.name

    @on(OptionList.OptionSelected, "#section-list")
    def _selected(self) -> None:
        self.query_one("#section-name", Input).focus()

    @on(Button.Pressed, "#section-rename")
    @on(Input.Submitted, "#section-name")
    def rename(self) -> None:
        key = self.current_key()
        if key is None:
            return
        name = self.query_one("#section-name", Input).value
        if self.run_service(settings.configure_section, self.actor, key, name=name):
            self.refill(key)
            self.changed()

    @on(Button.Pressed, "#section-toggle")
    def toggle_hidden(self) -> None:
        key = self.current_key()
        info = self._info(key) if key else None
        if info is None:
            return
        if self.run_service(settings.configure_section, self.actor, info.key, hidden=not info.hidden):
            self.refill(info.key)
            self.changed()

    @on(Button.Pressed, "#section-up")
    @on(Button.Pressed, "#section-down")
    def _move_pressed(self, event: Button.Pressed) -> None:
        self.move(-1 if event.button.id == "section-up" else 1)

    def move(self, step: int) -> None:
        key = self.current_key()
        info = self._info(key) if key else None
        if info is None:
            return
        position = max(0, info.position + step)
        if position == info.position:
            return
        if self.run_service(settings.configure_section, self.actor, info.key, position=position):
            self.refill(info.key)
            self.changed()


class FieldsTab(SettingsTab):
    """Rename built-in field labels; add and remove custom fields of a record kind."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="settings-row"):
            yield Label(_("Record kind:"), classes="settings-caption")
            yield Select([(_(spec.label), name) for name, spec in KINDS.items()],
                         value="organizations", allow_blank=False, id="field-kind",
                         compact=True)
        yield OptionList(id="field-list", classes="settings-list")
        with Horizontal(classes="settings-row"):
            yield Input(placeholder=_("New label (empty = the default label)"),
                        id="field-label", compact=True)
            yield Button(_("Rename"), id="field-rename", compact=True)
            yield Button(_("Remove"), id="field-remove", compact=True)
        yield Static(_("Add a custom field:"), classes="settings-heading")
        with Horizontal(classes="settings-row"):
            yield Input(placeholder=_("Label"), id="custom-label", compact=True)
            yield Select([(_(label), code) for code, label in settings.CUSTOM_KINDS.items()],
                         value="text", allow_blank=False, id="custom-type", compact=True)
        with Horizontal(classes="settings-row"):
            yield Input(placeholder=_("Choices, comma-separated"), id="custom-choices",
                        compact=True, disabled=True)
            yield Button(_("Add field"), id="custom-add", compact=True)
        yield self.error_line()

    def on_mount(self) -> None:
        self.refill()

    @property
    def kind(self) -> str:
        value = self.query_one("#field-kind", Select).value
        return value if isinstance(value, str) else "organizations"

    def refill(self, keep: str | None = None) -> None:
        lst = self.query_one("#field-list", OptionList)
        keep = keep or (lst.highlighted_option.id if lst.highlighted_option else None)
        kind = self.kind
        renamed = settings.field_labels(kind)
        options = []
        for spec in KINDS[kind].fields:
            # As settings.field_label, from the renames read once rather than once per field.
            label = renamed[spec.name] if spec.name in renamed else _(spec.label)
            parts: list[str | tuple[str, str]] = [label]
            if spec.name in renamed:
                parts += ["  ", (f"({_(spec.label)})", "dim")]
            options.append(Option(Content.assemble(*parts), id=f"builtin:{spec.name}"))
        for cf in settings.list_custom_fields(kind):
            if not cf.active:
                continue
            detail = _(settings.CUSTOM_KINDS.get(cf.kind, cf.kind))
            if cf.choices:
                detail += ": " + ", ".join(cf.choices)
            note = _("custom, {detail}").format(detail=detail)
            options.append(Option(Content.assemble(cf.label, "  ", (f"({note})", "italic dim")),
                                  id=f"custom:{cf.id}"))
        _set_options(lst, options, keep)

    def _selected(self) -> tuple[str, str] | None:
        option = self.query_one("#field-list", OptionList).highlighted_option
        if option is None or not option.id:
            return None
        what, _sep, ident = option.id.partition(":")
        return what, ident

    @on(Select.Changed, "#field-kind")
    def _kind_changed(self) -> None:
        self.show_error("")
        self.refill()

    @on(Select.Changed, "#custom-type")
    def _type_changed(self, event: Select.Changed) -> None:
        self.query_one("#custom-choices", Input).disabled = event.value != "choice"

    @on(OptionList.OptionHighlighted, "#field-list")
    def _prefill(self) -> None:
        selected = self._selected()
        if selected and selected[0] == "builtin":
            label = settings.field_labels(self.kind).get(selected[1], "")
            self.query_one("#field-label", Input).value = label
        else:
            self.query_one("#field-label", Input).value = ""

    @on(Button.Pressed, "#field-rename")
    @on(Input.Submitted, "#field-label")
    def rename(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        if selected[0] != "builtin":
            self.show_error(_("Only built-in field labels can be renamed; remove and add a"
                              " custom field instead"))
            return
        label = self.query_one("#field-label", Input).value
        if self.run_service(settings.rename_field, self.actor, self.kind, selected[1], label):
            self.refill()
            self.changed()

    @on(Button.Pressed, "#field-remove")
    def remove_field(self) -> None:  # not `remove`: that is Widget.remove, which Textual calls
        selected = self._selected()
        if selected is None:
            return
        if selected[0] != "custom":
            self.show_error(_("Built-in fields cannot be removed, only renamed"))
            return
        if self.run_service(settings.remove_custom_field, self.actor, int(selected[1])):
            self.refill()
            self.changed()

    @on(Button.Pressed, "#custom-add")
    @on(Input.Submitted, "#custom-label")
    @on(Input.Submitted, "#custom-choices")
    def add(self) -> None:
        label_input = self.query_one("#custom-label", Input)
        kind_value = self.query_one("#custom-type", Select).value
        field_type = kind_value if isinstance(kind_value, str) else "text"
        choices_input = self.query_one("#custom-choices", Input)
        choices = choices_input.value.split(",") if field_type == "choice" else None
        info = self.run_service(settings.add_custom_field, self.actor, self.kind, label_input.value,
                         field_type, choices)
        if info:
            label_input.value = ""
            choices_input.value = ""
            self.refill(f"custom:{info.id}")
            self.changed()


class TimeZoneTab(SettingsTab):
    """The company's time zone: calendar (.ics) exports write their times in it."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="settings-row"):
            yield Label(_("Time zone"), classes="settings-caption")
            yield Input(self._stored(), placeholder=settings.server_time_zone(),
                        id="time-zone", compact=True)
            yield Button(_("Save"), id="time-zone-save", compact=True)
        yield Static(_("Calendar files (.ics) give times in this zone. An IANA name such as"
                       " Europe/Moscow; empty: the server's zone ({zone}).").format(
            zone=settings.server_time_zone()), classes="settings-hint", markup=False)
        yield self.error_line()

    @staticmethod
    def _stored() -> str:
        value = settings.get_value(settings.TIME_ZONE_KEY, "")
        return value if isinstance(value, str) else ""

    @on(Button.Pressed, "#time-zone-save")
    @on(Input.Submitted, "#time-zone")
    def save(self) -> None:
        zone = self.query_one("#time-zone", Input)
        if self.run_service(settings.set_time_zone, self.actor, zone.value):
            zone.value = self._stored()
            self.changed()


class EventTypesTab(SettingsTab):
    """Event types (call, meeting, …) and the results a manager picks after each."""

    def compose(self) -> ComposeResult:
        yield OptionList(id="event-list", classes="settings-list")
        with Horizontal(classes="settings-row"):
            yield Input(placeholder=_("New event type"), id="type-name", compact=True)
            yield Button(_("Add type"), id="type-add", compact=True)
        with Horizontal(classes="settings-row"):
            yield Input(placeholder=_("New result of the selected type"), id="result-name",
                        compact=True)
            yield Button(_("Add result"), id="result-add", compact=True)
        with Horizontal(classes="settings-row"):
            yield Checkbox(_("Warm"), id="result-warm", compact=True)
            yield Checkbox(_("Reached decision maker"), id="result-dm", compact=True)
            yield Checkbox(_("Productive"), id="result-productive", compact=True)
        with Horizontal(classes="settings-row"):
            yield Button(_("Remove result"), id="result-remove", compact=True)
        yield self.error_line()

    def __init__(self, actor: Actor, **kwargs) -> None:  # noqa: ANN003 - Widget options
        super().__init__(actor, **kwargs)
        self._type_of: dict[str, str] = {}  # option id -> event type code

    def on_mount(self) -> None:
        self.refill()

    def refill(self, keep: str | None = None) -> None:
        lst = self.query_one("#event-list", OptionList)
        keep = keep or (lst.highlighted_option.id if lst.highlighted_option else None)
        options = []
        self._type_of = {}
        for et in settings.event_types():
            options.append(Option(Content.assemble((et.name, "bold")), id=f"type:{et.code}"))
            self._type_of[f"type:{et.code}"] = et.code
            for r in et.results:
                flags = [name for on_, name in ((r.warm, _("warm")),
                                                (r.reached_decision_maker, _("decision maker")),
                                                (r.productive, _("productive"))) if on_]
                parts: list[str | tuple[str, str]] = ["  · ", r.name]
                if flags:
                    parts += ["  ", (f"({', '.join(flags)})", "dim")]
                options.append(Option(Content.assemble(*parts), id=f"result:{r.id}"))
                self._type_of[f"result:{r.id}"] = et.code
        _set_options(lst, options, keep)

    def _highlighted_id(self) -> str | None:
        option = self.query_one("#event-list", OptionList).highlighted_option
        return option.id if option else None

    @on(Button.Pressed, "#type-add")
    @on(Input.Submitted, "#type-name")
    def add_type(self) -> None:
        name_input = self.query_one("#type-name", Input)
        name = name_input.value.strip()
        if not name:
            self.show_error(_("Type a name for the new event type"))
            return
        info = self.run_service(settings.add_event_type, self.actor, slug(name), name, name)
        if info:
            name_input.value = ""
            self.refill(f"type:{info.code}")
            self.changed()

    @on(Button.Pressed, "#result-add")
    @on(Input.Submitted, "#result-name")
    def add_result(self) -> None:
        event_type = self._type_of.get(self._highlighted_id() or "")
        if event_type is None:
            self.show_error(_("Choose an event type in the list first"))
            return
        name_input = self.query_one("#result-name", Input)
        name = name_input.value.strip()
        if not name:
            self.show_error(_("Type a name for the new result"))
            return
        info = self.run_service(
            settings.add_event_result, self.actor, event_type, slug(name), name, name,
            warm=self.query_one("#result-warm", Checkbox).value,
            reached_decision_maker=self.query_one("#result-dm", Checkbox).value,
            productive=self.query_one("#result-productive", Checkbox).value)
        if info:
            name_input.value = ""
            for box in self.query(Checkbox):
                box.value = False
            self.refill(f"result:{info.id}")
            self.changed()

    @on(Button.Pressed, "#result-remove")
    def remove_result(self) -> None:
        option_id = self._highlighted_id() or ""
        if not option_id.startswith("result:"):
            self.show_error(_("Choose a result (not a type) in the list to remove it"))
            return
        if self.run_service(settings.remove_event_result, self.actor, int(option_id.split(":")[1])):
            self.refill(f"type:{self._type_of.get(option_id, '')}")
            self.changed()


class AppearanceTab(SettingsTab):
    """The user's own theme and language: applied at once and remembered in the database."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="settings-row"):
            yield Label(_("Theme:"), classes="settings-caption")
            names = available_theme_names(self.app)
            current = self.app.theme if self.app.theme in names else Select.NULL
            yield Select([(n, n) for n in names], value=current, allow_blank=False,
                         id="theme-select", compact=True)
        with Horizontal(classes="settings-row"):
            yield Label(_("Language:"), classes="settings-caption")
            yield Select(LANGUAGE_NAMES, value=get_language(), allow_blank=False,
                         id="language-select", compact=True)
        yield Static(_("Your own theme files (*.toml) go in {folder}").format(
            folder=paths.user_themes_dir()), classes="settings-hint", markup=False)
        yield self.error_line()

    def on_mount(self) -> None:
        # The theme may also change from elsewhere (the command palette): keep the box true.
        self.watch(self.app, "theme", self._app_theme_changed, init=False)

    def _app_theme_changed(self, name: str) -> None:
        select = self.query_one("#theme-select", Select)
        if select.value != name and name in available_theme_names(self.app):
            # Only show it: a Changed from here would set the theme back (ctrl+t pressed
            # fast made the box and the theme set each other for minutes).
            with select.prevent(Select.Changed):
                select.value = name

    @on(Select.Changed, "#theme-select")
    def _theme_changed(self, event: Select.Changed) -> None:
        name = event.value
        if not isinstance(name, str) or name == self.app.theme:
            return  # the initial value, or no change
        if name != event.select.value:
            return  # a stale choice: the box shows another theme by now
        try:
            self.app.theme = name
        except Exception:  # noqa: BLE001 - an unknown or unusable theme must not crash the app
            self.show_error(_("Cannot use the theme {name}").format(name=name))
            return
        if self.run_service(settings.set_user_preference, self.actor, "theme", name):
            self.changed()

    @on(Select.Changed, "#language-select")
    def _language_changed(self, event: Select.Changed) -> None:
        language = event.value
        if not isinstance(language, str) or language == get_language():
            return
        if not self.run_service(settings.set_user_preference, self.actor, "language", language):
            return
        set_language(language)
        # Posted by the pane, which outlives this tab: the rebuild below removes the tab
        # before a message of its own could bubble up.
        pane = self.query_ancestor(SettingsPane)
        pane.post_message(SettingsChanged())
        pane.rebuild(active="appearance")


class SettingsPane(Vertical):
    """The body of the Settings section."""

    DEFAULT_CSS = """
    SettingsPane { height: 1fr; }
    SettingsPane > TabbedContent { height: 1fr; }
    SettingsPane ContentSwitcher { height: 1fr; }
    SettingsPane TabPane { height: 1fr; padding: 0 1; }
    SettingsPane SettingsTab { height: 1fr; }
    SettingsPane .settings-note { color: $text-muted; padding: 0 1; }
    SettingsPane .settings-list { height: 1fr; min-height: 3; border: none; margin-bottom: 1; }
    SettingsPane .settings-row { height: auto; }
    SettingsPane .settings-row > * { margin-right: 1; }
    SettingsPane .settings-row > Input { width: 1fr; }
    SettingsPane .settings-row > Select { width: 1fr; }
    SettingsPane .settings-row > Button { min-width: 0; width: auto; padding: 0 1; }
    SettingsPane .settings-caption { color: $text-muted; }
    SettingsPane .settings-heading { color: $text-muted; }
    SettingsPane .settings-row > .settings-caption { width: auto; padding-right: 1; }
    SettingsPane .settings-hint { color: $text-muted; margin-top: 1; }
    SettingsPane .settings-error { color: $error; display: none; }
    SettingsPane AppearanceTab .settings-row { margin-bottom: 1; }
    """

    def __init__(self, actor: Actor, *, id: str | None = None,  # noqa: A002 - Textual's name
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.actor = actor
        self._active = "sections" if actor.is_admin else "appearance"

    def compose(self) -> ComposeResult:
        if not self.actor.is_admin:
            yield Static(_("Only an admin can change sections, fields and event types;"
                           " you can choose your own theme and language."),
                         classes="settings-note")
        with TabbedContent(initial=self._active, id="settings-tabs"):
            if self.actor.is_admin:
                with TabPane(_("Sections"), id="sections"):
                    yield SectionsTab(self.actor)
                with TabPane(_("Fields"), id="fields"):
                    yield FieldsTab(self.actor)
                with TabPane(_("Event types"), id="event-types"):
                    yield EventTypesTab(self.actor)
                with TabPane(_("Time zone"), id="time-zone-tab"):
                    yield TimeZoneTab(self.actor)
            with TabPane(_("Appearance"), id="appearance"):
                yield AppearanceTab(self.actor)

    def rebuild(self, active: str | None = None) -> None:
        """Compose again, e.g. in a new language, staying on the same tab."""
        self._active = active or self.query_one(TabbedContent).active or self._active
        self.refresh(recompose=True)
