"""Keys a manager expects (issue 15), in the real app on a real SQLite file: sections by
alt+digit or F-key, `l` logs a call from a card in a few keys, Follow-ups' `l` and j/k."""

from __future__ import annotations

from textual import events

from tests.ui.conftest import CrmData, settle
from tui_crm.db import models as m
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.log_result import LogResultModal
from tui_crm.ui.widgets.sidebar import visible_sections


async def test_sections_by_alt_digit_and_f_key(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    keys = [s.key for s in visible_sections()]
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("alt+2")
        await settle(pilot)
        assert app.main_screen.section == keys[1]
        await pilot.press("f3")
        await settle(pilot)
        assert app.main_screen.section == keys[2]
        await pilot.press("alt+1")
        await settle(pilot)
        assert app.main_screen.section == keys[0]


def test_esc_and_a_digit_from_a_terminal_are_alt_digit() -> None:
    """The bytes xterm, GNOME Terminal, PuTTY and a browser's xterm.js send for alt+3 reach
    the app as alt+3 (Textual alone reads them as macOS WezTerm's "£"); Esc alone, an
    F-key and Esc-then-a-letter keep their meaning."""
    import time

    from textual import constants
    from textual._xterm_parser import XTermParser

    from tui_crm.ui.terminal_keys import read_esc_digit_as_alt

    read_esc_digit_as_alt()

    def keys(data: str) -> list[str]:
        parser = XTermParser()
        got = [e.key for e in parser.feed(data)]
        time.sleep(constants.ESCAPE_DELAY * 2)  # the parser's wait for more of a sequence
        return got + [e.key for e in parser.tick()]

    assert keys("\x1b3") == ["alt+3"]
    assert keys("\x1b9x") == ["alt+9", "x"]
    assert keys("\x1b") == ["escape"]
    assert keys("\x1bOR") == ["f3"]
    assert keys("\x1bj") == ["alt+j"]
    assert keys("£") == ["pound_sign"]  # typed as a character, it stays one


async def test_a_macs_option_digit_is_a_section_outside_a_text_box(crm: CrmData) -> None:
    """A browser on a Mac hands the page the character Option+digit types ("™" for 2): a
    section, unless a text box has the focus — there it is typed."""
    app = build_app(crm.path, section="organizations")
    keys = [s.key for s in visible_sections()]
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.post_message(events.Key("trade_mark_sign", "™"))  # as a terminal reads "™"
        await settle(pilot)
        assert app.main_screen.section == keys[1]
        await pilot.press("f3", "slash")
        await settle(pilot)
        assert app.main_screen.section == keys[2]
        app.post_message(events.Key("pound_sign", "£"))  # in the filter box: typed
        await settle(pilot)
        assert app.main_screen.section == keys[2]
        assert app.main_screen.filter_bar.text == "£"


async def test_l_logs_an_unplanned_warm_call_from_a_card_in_three_keys(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        main = app.main_screen
        org_id = main.table.current_id
        before = m.Event.select().where(m.Event.organization == org_id).count()
        await pilot.press("l")  # 1: log (a call unless `m` makes it a meeting)
        await pilot.pause()
        assert isinstance(app.screen, LogResultModal)
        await pilot.press("4")  # 2: "Interested" ★ — the next step is offered as +1d
        await pilot.pause()
        await pilot.press("enter")  # 3: take it and save
        await settle(pilot)
        assert not isinstance(app.screen, LogResultModal)
    events = list(m.Event.select().where(m.Event.organization == org_id)
                  .order_by(m.Event.id))
    assert len(events) == before + 2  # the call, and its next step
    call, nxt = events[-2], events[-1]
    assert call.status == "done" and call.result.code == "interested"
    assert nxt.status == "planned" and nxt.starts_at.date() > call.starts_at.date()


async def test_l_makes_it_a_meeting_with_m(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        org_id = app.main_screen.table.current_id
        await pilot.press("l", "m", "3", "ctrl+s")  # a meeting held without a result
        await settle(pilot)
    last = m.Event.select().where(m.Event.organization == org_id).order_by(
        m.Event.id.desc()).first()
    assert (last.event_type.code, last.status, last.result.code) == (
        "meeting", "done", "held_no_result")


async def test_followups_j_k_and_l(crm: CrmData) -> None:
    from tui_crm.ui.screens.followups import FollowupsPane

    app = build_app(crm.path, section="followups")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        pane = app.main_screen.query_one(FollowupsPane)
        first, second = pane.items[0], pane.items[1]
        await pilot.press("j")
        assert pane.current().id == second.id
        await pilot.press("k")
        assert pane.current().id == first.id
        await pilot.press("l", "1", "ctrl+s")  # no answer
        await settle(pilot)
    last = m.Event.select().order_by(m.Event.id.desc()).first()
    assert (last.organization_id, last.status, last.result.code) == (
        first.id, "done", "no_answer")


async def test_an_edit_keeps_the_filter_and_u_undoes_it(crm: CrmData) -> None:
    from tests.ui.conftest import type_text
    from tui_crm.services.core import records
    from tui_crm.ui.screens.record_form import RecordForm

    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        main = app.main_screen
        await pilot.press("slash")
        await type_text(pilot, "москва")
        await settle(pilot)
        filtered = main.table.total
        assert 0 < filtered < 6
        main.table.focus()
        record_id = main.table.current_id
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RecordForm)
        form.field("legal_name").set_value("ООО «Новое имя»")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, RecordForm)
        assert main.filter_bar.text == "москва" and main.table.total == filtered
        assert main.table.current_id == record_id
        assert records.get(crm.admin, "organizations", record_id).values["legal_name"] == \
            "ООО «Новое имя»"
        await pilot.press("u")  # the last change of the session was an edit: put it back
        await settle(pilot)
    assert records.get(crm.admin, "organizations", record_id).values["legal_name"] == ""


async def test_a_payment_from_the_deals_board_updates_the_sidebar_count(crm: CrmData) -> None:
    from tui_crm.services.core import records
    from tui_crm.ui.screens.deals_board import DealsBoardScreen, PaymentModal

    records.create(crm.admin, "deals", {"title": "Новая поставка", "amount": "5000",
                                        "organization": crm.orgs["romashka"]})
    app = build_app(crm.path, section="deals")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        before = main._counts["payments"]
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, DealsBoardScreen)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PaymentModal)
        app.screen.query_one("#amount").value = "1000"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DealsBoardScreen)
        assert main._counts["payments"] == before + 1


async def test_each_section_keeps_its_own_card_tab(crm: CrmData) -> None:
    from textual.widgets import TabbedContent

    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        tabs = main.detail.query_one(TabbedContent)
        tabs.active = "history"
        await settle(pilot)
        main.show_section("notes")
        await settle(pilot)
        assert tabs.active == "card"  # a note opens on its text, not on a third tab
        main.show_section("organizations")
        await settle(pilot)
        assert tabs.active == "history"


async def test_a_on_the_people_tab_adds_a_person_to_that_organization(crm: CrmData) -> None:
    from textual.widgets import TabbedContent

    from tui_crm.ui.screens.record_form import RecordForm

    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        org_id = main.table.current_id
        before = m.Contact.select().where(m.Contact.organization == org_id).count()
        main.detail.query_one(TabbedContent).active = "people"
        await settle(pilot)
        await pilot.press("enter")  # the card takes the keys
        await settle(pilot)
        main.detail.focus_card()
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RecordForm) and form.kind == "contacts"
        form.field("last_name").set_value("Новикова")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert main.section == "organizations"  # still on the organization's card
        # Elsewhere `a` still adds a record of the section.
        main.table.focus()
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RecordForm) and app.screen.kind == "organizations"
    added = m.Contact.select().where(m.Contact.organization == org_id)
    assert added.count() == before + 1
    assert added.order_by(m.Contact.id.desc()).first().last_name == "Новикова"


async def test_reports_by_keys_and_no_letter_actions_while_typing_a_date(crm: CrmData) -> None:
    from textual.widgets import Input, Select

    from tui_crm.services.analytics import reports

    app = build_app(crm.path, section="reports")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        select = main.query_one("#rep-name", Select)
        names = list(reports.REPORTS)
        main.query_one("#rep-table").focus()
        await pilot.pause()
        first = select.value
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert select.value == names[(names.index(first) + 1) % len(names)]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert select.value == first

        def offered() -> set[str]:
            return {b.binding.action for b in app.screen.active_bindings.values()
                    if b.enabled}

        assert "export" in offered()
        date = main.query_one("#rep-from", Input)
        date.focus()
        await pilot.pause()
        assert "export" not in offered() and "chart" not in offered()
        date.value = ""
        await pilot.press("e")
        assert date.value == "e"  # typed, and the footer did not promise otherwise
