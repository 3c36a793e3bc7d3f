"""Footer letters never type into fields (issue 15, item 5): in the real app, on every
screen with text fields, a key the footer shows while a field has the focus is never a
character one types; under a dialog the footer of the screen beneath is hidden (its
letters would go into the dialog's fields, and none of its keys reach that screen)."""

from __future__ import annotations

from textual.app import App
from textual.widget import Widget
from textual.widgets import Footer, Input, TabbedContent, TextArea
from textual.widgets._footer import FooterKey

from tests.ui.conftest import CrmData, settle
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.mail_dialogs import AccountForm, TemplateEditor
from tui_crm.ui.screens.mail_recipients import RecipientPicker
from tui_crm.ui.screens.mailings import MailingsPane
from tui_crm.ui.screens.main import MainScreen
from tui_crm.ui.screens.record_form import RecordForm
from tui_crm.ui.widgets import typed_actions

SIZE = (160, 50)


def shown_keys(app: App) -> list[str]:
    """The keys of every footer drawn now, on the top screen and the screens beneath."""
    keys = []
    for screen in app.screen_stack:
        for footer in screen.query(Footer):
            if not (footer.visible and footer.display):
                continue
            keys += [k.key for k in footer.query(FooterKey)]
    return keys


def typed(keys: list[str]) -> list[str]:
    """The keys among `keys` that are characters one types (as the footer names them)."""
    from textual.binding import Binding

    return [k for k in keys if typed_actions([Binding(k, k)])]


async def each_field(pilot, root: Widget):  # noqa: ANN001, ANN201 - a Pilot; yields fields
    """Focus each visible text field under `root` in turn."""
    for field in list(root.query("Input, TextArea")):
        if not field.focusable or not field.region:
            continue
        field.focus()
        await pilot.pause()
        if pilot.app.screen.focused is field:
            yield field


async def test_no_footer_letter_while_a_field_has_the_focus(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        assert "a" in shown_keys(app)  # the table has the focus: letters are offered
        checked = []
        for section in ("organizations", "settings", "users", "audit", "reports", "categories"):
            app.go_to_section(section)
            await settle(pilot)
            host = main.query_one(f"#{main.query_one('#switcher').current}")
            tabs = list(host.query(TabbedContent)) if section == "settings" else []
            tab_ids = [pane.id or "" for pane in tabs[0].query("TabPane")] if tabs else [""]
            for tab_id in tab_ids:
                pane = host
                if tab_id:  # (queried anew: a change in a tab may compose Settings again)
                    main.sidebar.focus()  # a field keeps its tab shown while it has the focus
                    await pilot.pause()
                    host.query_one(TabbedContent).active = tab_id
                    await settle(pilot)
                    pane = host.query_one(f"#{tab_id}")
                async for field in each_field(pilot, pane):
                    checked.append(f"{section}:{field.id}")
                    assert typed(shown_keys(app)) == [], (section, field.id, shown_keys(app))
                    # A letter some footer of this section offers goes into the field.
                    before = field.text if isinstance(field, TextArea) else field.value
                    await pilot.press("e")
                    await pilot.pause()
                    after = field.text if isinstance(field, TextArea) else field.value
                    assert app.screen is main and main.section == section
                    assert after != before and "e" in after, (section, field.id)
        # Every screen with fields was reached (the filter, the settings tabs, users, the
        # audit filters, the report dates).
        for wanted in ("organizations:filter-input", "settings:section-name",
                       "settings:type-name", "settings:time-zone", "users:new-login",
                       "audit:audit-login", "reports:rep-from", "reports:rep-to"):
            assert wanted in checked, (wanted, checked)


async def test_a_dialog_hides_the_footer_beneath_and_takes_the_letters(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        app.go_to_section("mailings")
        await settle(pilot)
        pane = main.query_one(MailingsPane)
        pane.focus()
        await settle(pilot)
        assert {"n", "t", "a"} <= set(shown_keys(app))  # the Mailings keys

        for open_dialog, dialog_type in ((pane.action_new_account, AccountForm),
                                         (pane.action_new_template, TemplateEditor)):
            open_dialog()
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, dialog_type)
            assert typed(shown_keys(app)) == []  # nothing beneath offers a letter
            field = dialog.focused
            assert isinstance(field, Input | TextArea)
            await pilot.press("n", "t")  # "New mailing", "New template" beneath
            await pilot.pause()
            assert app.screen is dialog and not isinstance(app.screen, RecipientPicker)
            assert (field.text if isinstance(field, TextArea) else field.value).endswith("nt")
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is main
            assert {"n", "t", "a"} <= set(shown_keys(app))  # back with its dialog gone

        # The record form over the table: the table's letters (a Add, e Edit…) hidden.
        app.go_to_section("organizations")
        await settle(pilot)
        main.table.focus()
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RecordForm)
        assert typed(shown_keys(app)) == []
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is main and "a" in shown_keys(app)
