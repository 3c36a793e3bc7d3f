"""The main screen driven like a user would: sections, filter as you type, sort, the card
and its history, next/previous, delete/undo, trash/restore, quick search, settings changes,
language, the narrow layout, a user keymap, and changes made by another session.

Each test runs the app built by `build_app` on a real SQLite file with fixed data.
"""

from __future__ import annotations

import sqlite3

from textual.widgets import OptionList, Static, TabbedContent

from tests.ui.conftest import CrmData, screen_text, settle, type_text
from tui_crm.i18n import set_language
from tui_crm.services.core import records, settings
from tui_crm.services.core.records import ListQuery
from tui_crm.ui.app import build_app
from tui_crm.ui.messages import SettingsChanged
from tui_crm.ui.screens.help import HelpScreen, help_rows
from tui_crm.ui.screens.main import MainScreen
from tui_crm.ui.screens.quick_search import QuickSearch
from tui_crm.ui.widgets import TextLine
from tui_crm.ui.widgets.detail_pane import DetailPane
from tui_crm.ui.widgets.record_table import RecordTable, fit_widths
from tui_crm.ui.widgets.sidebar import Sidebar

WIDE = (120, 40)


def main_of(app) -> MainScreen:  # noqa: ANN001 - a CrmApp
    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


def status_of(app) -> str:  # noqa: ANN001
    return str(main_of(app).query_one("#status", TextLine).render())


def titles(table: RecordTable) -> list[str]:
    return [table.row_view(row).title for row in range(table.total)]


async def test_each_section_opens_with_its_rows(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        expected = {"organizations": 6, "contacts": 3, "deals": 1, "tasks": 1, "events": 3,
                    "notes": 1, "links": 1, "payments": 1, "services": 1}
        sidebar = main.query_one(Sidebar)
        assert [s.key for s in sidebar.sections] == [
            "today", "followups", "organizations", "contacts", "deals", "tasks", "events",
            "notes", "links", "payments", "services", "reports", "categories", "mailings",
            "users", "audit", "settings"]
        for key, count in expected.items():
            app.go_to_section(key)
            await settle(pilot)
            assert main.table.kind == key
            assert main.table.total == count
            assert f"1–{count} of {count}" in status_of(app)
            name = settings.section_name(key)
            assert name in str(main.query_one("#title-bar", TextLine).render())
        # The sidebar shows the counts next to the names.
        text = screen_text(app)
        assert "Organizations      6" in text or "Organizations    6" in text.replace("  ", " ")
        app.go_to_section("settings")
        await settle(pilot)
        assert main.query_one("#settings-host").children  # the Settings pane is mounted
        # The sidebar itself opens a section with Enter.
        sidebar.focus()
        sidebar.highlighted = [s.key for s in sidebar.sections].index("contacts")
        await pilot.press("enter")
        await settle(pilot)
        assert main.section == "contacts"
        assert main.table.total == 3


async def test_filter_as_you_type_with_cyrillic_yo_and_phone_digits(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        await pilot.press("slash")
        assert main.focused is main.filter_bar.input
        await type_text(pilot, "РОМ")
        await settle(pilot)
        assert main.table.total == 1
        assert titles(main.table) == ["Ромашка"]
        assert "1–1 of 1" in status_of(app)
        assert "filtered" in status_of(app)
        # ё and е are the same letter for the filter.
        await pilot.press("escape")  # clears the box
        await settle(pilot)
        assert main.table.total == 6
        await type_text(pilot, "елка")
        await settle(pilot)
        assert titles(main.table) == ["Ёлка-Палка"]
        await pilot.press("escape")
        await type_text(pilot, "орел")
        await settle(pilot)
        assert titles(main.table) == ["Орёл и Решка"]
        # A run of phone digits, whatever the formatting.
        await pilot.press("escape")
        await type_text(pilot, "8 916 123-45-67")
        await settle(pilot)
        assert titles(main.table) == ["Ромашка"]
        await pilot.press("escape")
        await type_text(pilot, "5550102")
        await settle(pilot)
        assert titles(main.table) == ["Ёлка-Палка"]
        # Nonsense finds nothing and says so; a second Esc goes back to the table.
        await pilot.press("escape")
        await type_text(pilot, 'zz"(-')
        await settle(pilot)
        assert main.table.total == 0
        assert "No records" in status_of(app)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert main.focused is main.table
        assert main.table.total == 6


async def test_chips_filter_by_status_and_custom_field(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        names = [f.name for f in dialog.fields]
        assert {"status", "category", "owner", "tag", "tier"} <= set(names)
        status = dialog.query_one(f"#f{names.index('status')}")
        status.value = "client"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert sorted(titles(main.table)) == ["Гамма Сервис", "Ромашка"]
        assert "Status: Client" in screen_text(app)
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one(f"#f{names.index('tier')}").value = "gold"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert titles(main.table) == ["Ромашка"]
        # Custom fields are columns too (wide enough to show them).
        assert "tier" in [c.name for c in main.table.columns]
        await pilot.press("f")
        await settle(pilot)
        await pilot.click("#clear")
        await settle(pilot)
        assert main.table.total == 6


async def test_sort_by_key_and_by_header(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        table = main.table
        assert table.sort_name == "name"
        assert titles(table)[0] == "Beta Trade"
        await pilot.press("S")  # reverse
        await settle(pilot)
        assert titles(table)[0] == "Ромашка"
        assert "sorted by Name ▼" in status_of(app)
        await pilot.press("s")  # next column: City
        await settle(pilot)
        assert table.sort_name == "city"
        assert [table.row_view(r).display["city"] for r in range(6)] == [
            "Казань", "Москва", "Москва", "Орёл", "Санкт-Петербург", "Тверь"]
        # Up from the first row reaches the header; Enter sorts by the chosen column.
        await pilot.press("g", "up", "left", "enter")
        await settle(pilot)
        assert table.sort_name == "name"
        assert titles(table)[0] == "Beta Trade"
        # A click on a header sorts too (again: reversed).
        await pilot.click(RecordTable, offset=(3, 0))
        await settle(pilot)
        assert table.list_query.descending
        assert titles(table)[0] == "Ромашка"


async def test_card_shows_fields_links_and_history(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        main = main_of(app)
        await pilot.press("slash")
        await type_text(pilot, "ромашка")
        await pilot.press("enter")  # back to the table
        await settle(pilot)
        await pilot.press("enter")  # open the card
        await settle(pilot)
        detail = main.query_one(DetailPane)
        assert detail.has_focus_within
        assert detail.view is not None and detail.view.id == crm.orgs["romashka"]
        text = screen_text(app)
        for shown in ("Organization: Ромашка", "info@romashka.ru", "+7 916 123-45-67",
                      "7707083893", "Tier", "gold", "VIP"):
            assert shown in text, shown
        # Phones, e-mails, messengers and the website are terminal hyperlinks.
        card = detail.card_renderable(detail.view)
        links = {span.style.link for span in card.spans
                 if not isinstance(span.style, str) and span.style.link}
        assert {"tel:+79161234567", "mailto:info@romashka.ru", "https://romashka.ru",
                "https://t.me/romashka_bot", "https://wa.me/79161234567",
                "skype:romashka.sales?call"} <= links
        # c copies the primary phone.
        await pilot.press("c")
        assert app.clipboard == "+7 916 123-45-67"
        # History: events newest first with their results, then the audit trail.
        await pilot.press("]")
        await settle(pilot)
        assert detail.query_one(TabbedContent).active == "history"
        history = str(detail.query_one("#history-body", Static).render())
        assert history.index("Встреча в офисе") < history.index("Первый звонок")
        assert "Held, deal agreed" in history
        assert "Interested" in history and "Просили КП" in history
        assert "Отправить КП" in history
        assert "created" in history
        # People of the organization; Enter opens one in Contacts.
        await pilot.press("]")
        await settle(pilot)
        people = detail.query_one("#people-list", OptionList)
        shown = [str(people.get_option_at_index(i).prompt) for i in range(people.option_count)]
        assert any("Иванов Иван" in s and "decision maker" in s for s in shown)
        assert any("Петрова Мария" in s for s in shown)
        await pilot.press("]")
        await settle(pilot)
        tasks = detail.query_one("#tasks-list", OptionList)
        assert "Подготовить договор" in str(tasks.get_option_at_index(0).prompt)
        await pilot.press("]")
        await settle(pilot)
        deals = detail.query_one("#deals-list", OptionList)
        deal_lines = [str(deals.get_option_at_index(i).prompt) for i in range(deals.option_count)]
        assert any("Поставка ромашек" in line and "150,000.00" in line for line in deal_lines)
        assert any("75,000.00" in line for line in deal_lines)
        await pilot.press("[", "[")  # back to People
        await settle(pilot)
        people.focus()
        people.highlighted = next(i for i, s in enumerate(shown) if "Иванов" in s)
        await pilot.press("enter")
        await settle(pilot)
        assert main.section == "contacts"
        assert main.table.current_id == crm.contacts["ivanov"]
        assert "Organization: Ромашка" in screen_text(app)
        assert detail.query_one(TabbedContent).active == "people"  # the tab stays chosen
        await pilot.press("[")  # a contact's history lists its own events
        await settle(pilot)
        assert detail.query_one(TabbedContent).active == "history"
        history = str(detail.query_one("#history-body", Static).render())
        assert "Первый звонок" in history and "Встреча в офисе" not in history


async def test_next_and_previous_record_keep_the_card_following(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        detail = main.query_one(DetailPane)
        order = titles(main.table)
        await pilot.press("enter")  # into the card
        await settle(pilot)
        assert detail.view.title == order[0]
        await pilot.press("n")
        await settle(pilot)
        assert main.table.cursor_row == 1
        assert detail.view.title == order[1]
        assert detail.has_focus_within  # still on the card
        await pilot.press("ctrl+down", "ctrl+down")
        await settle(pilot)
        assert detail.view.title == order[3]
        await pilot.press("p")
        await settle(pilot)
        assert detail.view.title == order[2]
        await pilot.press("escape")  # back to the table
        await pilot.press("j", "j", "k")
        await settle(pilot)
        assert detail.view.title == order[3]


async def test_delete_undo_trash_and_restore(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        main = main_of(app)
        table = main.table
        victim = table.current_view
        await pilot.press("d")
        await settle(pilot)
        assert victim.title not in titles(table)
        assert table.total == 5
        assert records.get(crm.admin, "organizations", victim.id).deleted_at is not None
        assert any("Press u to undo" in n.message for n in app._notifications)
        await pilot.press("u")
        await settle(pilot)
        assert victim.title in titles(table)
        assert table.current_id == victim.id
        assert records.get(crm.admin, "organizations", victim.id).deleted_at is None
        # Delete again, see it in the trash, restore it from there.
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert main.state().trash
        assert titles(table) == [victim.title]
        assert "Trash" in str(main.query_one("#title-bar", TextLine).render())
        assert "Deleted" in [c.label for c in table.columns]
        await pilot.press("r")
        await settle(pilot)
        assert table.total == 0
        await pilot.press("t")
        await settle(pilot)
        assert table.total == 6
        assert records.get(crm.admin, "organizations", victim.id).deleted_at is None


async def test_quick_search_opens_the_record_in_its_section(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert isinstance(app.screen, QuickSearch)
        await type_text(pilot, "иванов")
        await settle(pilot)
        search = app.screen
        assert search.hits and search.hits[0].section == "contacts"
        await pilot.press("enter")
        await settle(pilot)
        main = main_of(app)
        assert main.section == "contacts"
        assert main.table.current_id == crm.contacts["ivanov"]
        assert main.query_one(DetailPane).view.id == crm.contacts["ivanov"]
        # A filter that hides the record is cleared when a search hit is opened.
        app.go_to_section("organizations")
        await pilot.press("slash")
        await type_text(pilot, "альфа")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await type_text(pilot, "5550102")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert main.section == "organizations"
        assert main.filter_bar.text == ""
        assert main.table.current_id == crm.orgs["yolka"]


async def test_palette_lists_sections_by_their_shown_names(crm: CrmData) -> None:
    settings.configure_section(crm.admin, "organizations", name="Клиенты")
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await type_text(pilot, "Go to: Клиенты")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        app.go_to_section("contacts")
        await pilot.press("ctrl+p")
        await type_text(pilot, "Go to: Клиенты")
        await settle(pilot, rounds=6)
        await pilot.press("enter")
        await settle(pilot)
        assert main_of(app).section == "organizations"


async def test_hidden_and_renamed_sections_after_settings_change(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        settings.configure_section(crm.admin, "contacts", hidden=True)
        settings.configure_section(crm.admin, "organizations", name="Клиенты")
        settings.rename_field(crm.admin, "organizations", "city", "Город клиента")
        main.query_one(Sidebar).post_message(SettingsChanged())
        await settle(pilot)
        keys = [s.key for s in main.query_one(Sidebar).sections]
        assert "contacts" not in keys
        text = screen_text(app)
        assert "Клиенты" in text
        assert "Contacts" not in text
        assert "Клиенты" in str(main.query_one("#title-bar", TextLine).render())
        assert ("organizations", "Клиенты") in app.section_names()
        assert "Город клиента" in [c.label for c in main.table.columns]
        assert "Город кли" in screen_text(app)  # the header (cut to the column width)


async def test_language_switch_shows_russian_everywhere(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        text = screen_text(app)
        for russian in ("Организации", "Контакты", "Название", "Город", "Статус", "Отказ",
                        "из 6", "Карточка", "История", "Фильтр"):
            assert russian in text, russian
        assert settings.user_preference(crm.admin, "language") == "ru"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert "Organizations" in screen_text(app)
    set_language("en")
    # The saved preference is used at the next start.
    settings.set_user_preference(crm.admin, "language", "ru")
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert "Организации" in screen_text(app)


async def test_narrow_terminal_moves_the_card_under_the_table(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        main = main_of(app)
        detail = main.query_one(DetailPane)
        assert main.narrow
        assert not detail.display or detail.region.height == 0
        text = screen_text(app)
        assert "Ромашка" in text and "1–6 of 6" in text
        await pilot.press("enter")
        await settle(pilot)
        assert detail.region.height > 3
        assert detail.region.y > main.table.region.y  # below, not beside
        assert "Organization: Beta Trade" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert detail.region.height == 0
        assert main.focused is main.table
        await pilot.press("v")
        await settle(pilot)
        assert detail.region.height > 3
        await pilot.resize_terminal(140, 40)
        await settle(pilot)
        assert not main.narrow
        assert detail.region.x > main.table.region.x  # beside at full width


async def test_help_lists_the_keys_of_the_focused_place(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for shown in ("Table", "Delete", "main.delete", "Open card", "Sort", "Undo",
                      "Your own keys"):
            assert shown in text, shown
        rows = help_rows(app, app.screen.bindings_shown)
        described = {(place, keys, description) for place, keys, description, _e, _i in rows}
        assert ("Table", "↑ / k", "Up") in described
        assert ("Everywhere", "^f", "Search") in described
        assert ("Everywhere in a section", "n / ^↓", "Next record") in described
        assert ("Everywhere", "^t", "Theme") in described  # a terminal's keys
        assert "In a browser" not in text  # the note on a browser's keys is for browsers
        await pilot.press("escape")
        await pilot.press("slash", "question_mark")  # in the filter box ? is a letter
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert main_of(app).filter_bar.text == "?"


async def test_user_keymap_and_a_broken_keymap(crm: CrmData, tmp_path) -> None:  # noqa: ANN001
    from tui_crm import paths

    keymap = paths.config_dir() / "keymap.toml"
    keymap.write_text('[keymap]\n"main.trash" = "ctrl+y"\n"app.search" = "f12"\n',
                      encoding="utf-8")
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert main_of(app).state().trash
        await pilot.press("f12")  # F1–F9 switch sections
        await settle(pilot)
        assert isinstance(app.screen, QuickSearch)
    keymap.write_text("[keymap\nnot toml", encoding="utf-8")
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        assert any("keymap.toml" in n.message and n.severity == "error"
                   for n in app._notifications)
        assert main_of(app).table.total == 6  # the app works with the default keys


async def test_change_by_another_session_refreshes_and_keeps_the_cursor(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0.05
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        await pilot.press("j", "j")
        await settle(pilot)
        kept = main.table.current_id
        # Another session (its own connection) renames the record before ours and adds one.
        other = sqlite3.connect(crm.path)
        with other:
            other.execute("UPDATE organization SET name = 'Aaa Первая' WHERE id = ?",
                          (crm.orgs["orel"],))
            other.execute("UPDATE organization SET version = version + 1 WHERE id = ?",
                          (kept,))
        other.close()
        for _ in range(10):
            await pilot.pause(0.05)
            await settle(pilot)
            if titles(main.table)[0] == "Aaa Первая":
                break
        assert titles(main.table)[0] == "Aaa Первая"
        assert main.table.current_id == kept
        assert main.query_one(DetailPane).view.id == kept


async def test_add_and_edit_go_through_the_record_form(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert type(form).__name__ == "RecordForm"
        assert form.kind == "organizations" and form.record_id is None
        created = records.create(crm.admin, "organizations", {"name": "Дельта Новая",
                                                              "source": "Website"})
        form.dismiss(created)
        await settle(pilot)
        assert main.table.current_id == created.id
        assert main.query_one(DetailPane).view.title == "Дельта Новая"
        assert main.table.total == 7
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert type(form).__name__ == "RecordForm" and form.record_id == created.id
        form.dismiss(None)
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_error_before_the_ui_prints_one_line(tmp_path, capsys) -> None:  # noqa: ANN001
    from tui_crm.ui.app import run_app

    code = run_app(str(tmp_path))  # a folder, not a database file
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and "folder" in err


def test_columns_fit_the_width() -> None:
    from tui_crm.ui.screens.main import columns_for  # noqa: F401 - the real column specs
    from tui_crm.ui.widgets.record_table import Column

    columns = [Column("name", "Name", 30), Column("city", "City", 14),
               Column("primary_phone", "Phone", 18), Column("status", "Status", 8)]
    for width in (30, 45, 60, 80, 120):
        fitted = fit_widths(columns, width)
        used = sum(c.width for c in fitted) + len(fitted) + 1
        assert used == width
        assert all(c.width >= 4 for c in fitted)
        phone = next((c for c in fitted if c.name == "primary_phone"), None)
        assert phone is None or phone.width >= 16


async def test_twenty_thousand_rows_scroll_to_the_end(tmp_path) -> None:  # noqa: ANN001
    import datetime as dt

    from tui_crm.db import open_database
    from tui_crm.db.models import database_proxy
    from tui_crm.services.ops import demo

    path = tmp_path / "big.sqlite3"
    database = open_database(path)
    demo.generate(orgs=20_000, contacts=0, events=0, payments=0, today=dt.date(2026, 11, 27))
    last = records.list_records(demo_actor := _admin(), "organizations",
                                ListQuery(sort="name", descending=True, limit=1)).rows[0]
    first = records.list_records(demo_actor, "organizations", ListQuery(limit=1)).rows[0]
    middle = records.list_records(demo_actor, "organizations",
                                  ListQuery(offset=12_345, limit=1)).rows[0]
    database.close()
    database_proxy.initialize(None)
    app = build_app(str(path), section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        table = main.table
        assert table.total == 20_000
        assert len(table._pages) <= 2  # only a window of rows is ever held
        assert first.title in screen_text(app)
        await pilot.press("G")
        await settle(pilot)
        assert table.cursor_row == 19_999
        assert table.current_id == last.id
        text = screen_text(app)
        assert last.title in text
        assert "of 20\u00a0000" in text and "–20\u00a0000" in text
        await pilot.press("pageup", "pageup", "home")
        await settle(pilot)
        assert table.cursor_row == 0
        assert first.title in screen_text(app)
        await pilot.press("pagedown")
        await settle(pilot)
        assert table.cursor_row == table.visible_rows
        # Once the list rests, its pages are read through the row index: the same rows.
        for _ in range(200):
            if table.indexed:
                break
            await pilot.pause(0.05)
        assert table.indexed
        table._pages.clear()
        table.move_cursor(12_345)
        await settle(pilot)
        assert table.current_id == middle.id
        assert middle.title in screen_text(app)
        await pilot.press("G")
        await settle(pilot)
        assert table.current_id == last.id
        await pilot.press("home")
        await settle(pilot)
        # The mouse: the wheel moves the window (the pilot has no wheel: its event helper),
        # a click puts the cursor on a row, a double click opens the card.
        from textual.events import MouseScrollDown

        top = table.first_visible
        await pilot._post_mouse_events([MouseScrollDown], RecordTable, offset=(5, 5))
        await settle(pilot)
        assert table.first_visible > top
        await pilot.click(RecordTable, offset=(5, 3))
        await settle(pilot)
        assert table.cursor_row == table.first_visible + 2
        await pilot.double_click(RecordTable, offset=(5, 4))
        await settle(pilot)
        assert main.query_one(DetailPane).has_focus_within
        # While someone types in the filter, the new list's row index is not read (it would
        # take the interpreter from the next keystroke); back in the table, it is.
        await pilot.press("slash", "о", "о")
        await settle(pilot)
        await pilot.pause(0.6)
        assert table.total > 200 and not table.indexed
        await pilot.press("down")
        for _ in range(200):
            if table.indexed:
                break
            await pilot.pause(0.05)
        assert table.has_focus and table.indexed


def _admin():  # noqa: ANN202 - an Actor
    from tui_crm.services.core import users

    return users.resolve_actor()


async def test_language_chosen_in_settings_redraws_the_main_screen(crm: CrmData) -> None:
    from tui_crm.i18n import get_language

    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = main_of(app)
        # What the Settings pane does: save the preference, switch, announce the change.
        settings.set_user_preference(crm.admin, "language", "ru")
        set_language("ru")
        main.query_one(Sidebar).post_message(SettingsChanged())
        await settle(pilot)
        assert get_language() == "ru"
        text = screen_text(app)
        assert "Организации" in text and "из 6" in text and "Название" in text
        # The footer speaks Russian too.
        assert "Сортировка" in text or "Карточка" in text


def test_change_marker_moves_when_another_connection_commits(tmp_path) -> None:  # noqa: ANN001
    from tui_crm.db import open_database
    from tui_crm.db.models import database_proxy
    from tui_crm.services.core.changes import change_marker

    path = tmp_path / "marker.sqlite3"
    database = open_database(path)
    first = change_marker()
    assert change_marker() == first  # nothing happened
    other = sqlite3.connect(path)
    with other:
        other.execute("UPDATE setting SET value = value")
        other.execute("INSERT INTO source (name, active) VALUES ('Другой сеанс', 1)")
    other.close()
    assert change_marker() != first
    database.close()
    database_proxy.initialize(None)


async def test_theme_toggle_is_remembered_and_a_broken_theme_file_is_a_toast(
        crm: CrmData) -> None:
    from tui_crm import paths

    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.current_theme.dark
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert not app.current_theme.dark
        assert settings.user_preference(crm.admin, "theme") == app.theme
        chosen = app.theme
    themes = paths.user_themes_dir()
    themes.mkdir(parents=True, exist_ok=True)
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n',
                                        encoding="utf-8")
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        assert app.theme == chosen  # the saved choice
        assert any("broken.toml" in n.message and n.severity == "error"
                   for n in app._notifications)
        assert main_of(app).table.total == 6
