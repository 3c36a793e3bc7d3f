"""The Settings pane, driven with the pilot inside a tiny app on a real temporary database."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Checkbox, Input, Label, OptionList, Select, TabbedContent

from tui_crm import i18n
from tui_crm.services.core import settings, users
from tui_crm.services.core.rights import Actor
from tui_crm.ui.messages import SettingsChanged
from tui_crm.ui.screens.settings import (
    AppearanceTab,
    EventTypesTab,
    FieldsTab,
    SectionsTab,
    SettingsPane,
)
from tui_crm.ui.themes import packaged_themes_dir, register_themes


class PaneApp(App):
    """Just the pane, counting the SettingsChanged messages that reach the app."""

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor
        self.changes: list[SettingsChanged] = []
        self.theme_errors = register_themes(self, [packaged_themes_dir()])

    def compose(self) -> ComposeResult:
        yield SettingsPane(self.actor)

    def on_settings_changed(self, message: SettingsChanged) -> None:
        self.changes.append(message)


def error_of(app: App, tab: type) -> str:
    label = app.query_one(tab).query_one(".settings-error", Label)
    return str(label.content) if label.display else ""


async def open_tab(pilot, tab_id: str) -> None:  # noqa: ANN001 - a Pilot
    await pilot.click(f"#--content-tab-{tab_id}")
    await pilot.pause()
    assert pilot.app.query_one(TabbedContent).active == tab_id


async def test_hide_rename_and_move_sections(actor: Actor) -> None:
    app = PaneApp(actor)
    async with app.run_test(size=(80, 24)) as pilot:
        section_list = app.query_one("#section-list", OptionList)
        section_list.focus()
        await pilot.pause()
        # today, followups, organizations, contacts: hide Contacts with space.
        await pilot.press("down", "down", "down")
        assert section_list.highlighted_option.id == "contacts"
        await pilot.press("space")
        await pilot.pause()
        assert "contacts" not in [s.key for s in settings.sections()]
        assert next(s for s in settings.sections(include_hidden=True)
                    if s.key == "contacts").hidden
        assert len(app.changes) == 1

        # Rename Organizations: `r` jumps to the name box (its text selected), Enter saves.
        await pilot.press("up", "r")
        assert app.focused is app.query_one("#section-name", Input)
        await pilot.press(*"Clients", "enter")
        await pilot.pause()
        assert settings.section_name("organizations") == "Clients"
        assert "Clients" in [s.name for s in settings.sections()]
        assert len(app.changes) == 2

        # Move it up one place with the button.
        before = [s.key for s in settings.sections(include_hidden=True)]
        assert before.index("organizations") == 2
        await pilot.click("#section-up")
        await pilot.pause()
        after = [s.key for s in settings.sections(include_hidden=True)]
        assert after.index("organizations") == 1
        assert len(app.changes) == 3

        # Settings cannot be hidden: the service's message shows, nothing changes.
        section_list.focus()
        await pilot.press("end", "space")
        await pilot.pause()
        assert section_list.highlighted_option.id == "settings"
        assert "cannot be hidden" in error_of(app, SectionsTab)
        assert not any(s.hidden for s in settings.sections(include_hidden=True)
                       if s.key == "settings")
        assert len(app.changes) == 3


async def test_rename_field_and_add_custom_fields(actor: Actor) -> None:
    app = PaneApp(actor)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "fields")
        field_list = app.query_one("#field-list", OptionList)
        field_list.focus()
        await pilot.press("down", "down")  # name, legal_name, inn
        assert field_list.highlighted_option.id == "builtin:inn"
        await pilot.click("#field-label")
        await pilot.press(*"ИНН клиента", "enter")
        await pilot.pause()
        assert settings.field_label("organizations", "inn") == "ИНН клиента"
        assert len(app.changes) == 1

        # A choice field with no options: the error shows, nothing is added.
        await pilot.click("#custom-label")
        await pilot.press(*"Size")
        type_select = app.query_one("#custom-type", Select)
        type_select.focus()
        await pilot.press("enter", "down", "down", "down", "enter")  # text→number→date→choice
        await pilot.pause()
        assert type_select.value == "choice"
        assert not app.query_one("#custom-choices", Input).disabled
        await pilot.click("#custom-choices")
        await pilot.press(*" , ,")
        await pilot.click("#custom-add")
        await pilot.pause()
        assert "at least one option" in error_of(app, FieldsTab)
        assert settings.list_custom_fields("organizations") == []
        assert len(app.changes) == 1

        # Now with options: added, listed, the error line cleared.
        await pilot.click("#custom-choices")
        await pilot.press(*"S, M, L", "enter")
        await pilot.pause()
        fields = settings.list_custom_fields("organizations")
        assert [(f.label, f.kind, f.choices) for f in fields] == [
            ("Size", "choice", ["S", "M", "L"])]
        assert error_of(app, FieldsTab) == ""
        assert field_list.highlighted_option.id == f"custom:{fields[0].id}"
        assert len(app.changes) == 2

        # Remove it again.
        await pilot.click("#field-remove")
        await pilot.pause()
        assert not settings.list_custom_fields("organizations")[0].active
        assert len(app.changes) == 3


async def test_add_and_remove_an_event_result(actor: Actor) -> None:
    app = PaneApp(actor)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "event-types")
        first_type = settings.event_types()[0]
        event_list = app.query_one("#event-list", OptionList)
        assert event_list.highlighted_option.id == f"type:{first_type.code}"
        await pilot.click("#result-name")
        await pilot.press(*"Voicemail")
        await pilot.click("#result-warm")
        await pilot.click("#result-productive")
        assert app.query_one("#result-warm", Checkbox).value
        await pilot.click("#result-add")
        await pilot.pause()
        result = next(r for r in settings.event_types()[0].results
                      if r.name == "Voicemail")
        assert (result.code, result.warm, result.reached_decision_maker, result.productive) == (
            "voicemail", True, False, True)
        assert event_list.highlighted_option.id == f"result:{result.id}"
        assert len(app.changes) == 1

        # The same name again: the service refuses, the message shows.
        await pilot.click("#result-name")
        await pilot.press(*"Voicemail", "enter")
        await pilot.pause()
        assert "already exists" in error_of(app, EventTypesTab)
        assert len(app.changes) == 1

        # Remove the highlighted result.
        event_list.highlighted = event_list.get_option_index(f"result:{result.id}")
        await pilot.click("#result-remove")
        await pilot.pause()
        assert result.id not in [r.id for r in settings.event_types()[0].results]
        assert len(app.changes) == 2

        # A new event type, named in Russian: a Latin code is made from the name.
        await pilot.click("#type-name")
        await pilot.press(*"Вебинар", "enter")
        await pilot.pause()
        assert any(t.code == "vebinar" and t.name == "Вебинар" for t in settings.event_types())
        assert len(app.changes) == 3


async def test_switch_theme_and_language(actor: Actor) -> None:
    app = PaneApp(actor)
    assert app.theme_errors == []
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "appearance")
        theme_select = app.query_one("#theme-select", Select)
        assert theme_select.value == app.theme
        theme_select.focus()
        await pilot.press("enter", *"sepia", "enter")
        await pilot.pause()
        assert app.theme == "sepia"
        assert settings.user_preference(actor, "theme") == "sepia"
        assert len(app.changes) == 1

        # A theme chosen elsewhere (the command palette) shows in the box; the stored
        # preference is the app's business then, not the box's.
        app.theme = "dark-blue"
        await pilot.pause()
        assert theme_select.value == "dark-blue"
        assert settings.user_preference(actor, "theme") == "sepia"
        assert len(app.changes) == 1
        app.theme = "sepia"
        await pilot.pause()

        language_select = app.query_one("#language-select", Select)
        language_select.focus()
        await pilot.press("enter", "down", "enter")  # English → Русский
        await pilot.pause()
        await pilot.pause()
        assert i18n.get_language() == "ru"
        assert settings.user_preference(actor, "language") == "ru"
        assert len(app.changes) == 2
        # The pane is rebuilt in Russian and stays on the same tab.
        tabs = app.query_one(TabbedContent)
        assert tabs.active == "appearance"
        assert str(tabs.get_tab("sections").label) == "Разделы"
        assert app.query_one("#language-select", Select).value == "ru"
        assert app.theme == "sepia"


async def test_non_admin_sees_only_appearance(actor: Actor) -> None:
    users.add_user(actor, "bob", role="manager")
    bob = users.actor_for("bob")
    app = PaneApp(bob)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.query(SectionsTab) and not app.query(FieldsTab)
        assert not app.query(EventTypesTab)
        assert app.query_one(AppearanceTab)
        assert "Only an admin" in str(app.query_one(".settings-note").content)
        theme_select = app.query_one("#theme-select", Select)
        theme_select.focus()
        await pilot.press("enter", *"office-light", "enter")
        await pilot.pause()
        assert app.theme == "office-light"
        assert settings.user_preference(bob, "theme") == "office-light"
        assert settings.user_preference(actor, "theme") != "office-light"
