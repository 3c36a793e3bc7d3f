"""Keys in a browser: the ones a browser keeps for itself (ctrl+t a new tab, ctrl+n a new
window, ctrl+w closing the tab) have other keys in a browser session, shown by `?`; and
the session asks before the tab closes."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ANNA_ORG, log_in
from tests.browser.test_door import _close_db, _open_db, _to_filter, _to_organizations

pytestmark = pytest.mark.browser

NEW_PHONE = "+7 916 555-01-02"


def _anna(target: str):  # noqa: ANN202 - a RecordView and the theme anna chose
    database = _open_db(target)
    try:
        from tui_crm.services.core import records, settings, users
        from tui_crm.services.core.records import ListQuery

        anna = users.actor_for("anna")
        org = records.list_records(anna, "organizations", ListQuery(text=ANNA_ORG)).rows[0]
        return records.get(anna, "organizations", org.id), settings.user_preference(
            anna, "theme")
    finally:
        _close_db(database)


def test_the_keys_a_browser_keeps_have_others(browser, door_factory, team_db: str) -> None:
    door = door_factory(team_db)
    tab = log_in(browser, door.url, "anna")
    tab.wait_for(ANNA_ORG)
    _org, theme = _anna(team_db)
    # `?` names the browser's keys: the theme on ctrl+g, not ctrl+t.
    tab.keys("?")
    tab.wait_for("Keys (Esc closes)")
    tab.wait_for("In a browser, ctrl+t, ctrl+n and ctrl+w are the browser's")
    tab.keys("End")  # the help's last keys: the app's own
    line = tab.wait_for_line("Theme")
    assert "^g" in line and "^t" not in line, line
    tab.keys("Escape")
    tab.wait_gone("Keys (Esc closes)")
    tab.keys("Control+g")  # the other theme, remembered as anna's
    for _ in range(100):
        if _anna(team_db)[1] != theme:
            break
        tab.settle(100)
    assert _anna(team_db)[1] not in ("", theme)
    # A form: ctrl+o adds a phone row (ctrl+n in a terminal), its footer says so.
    _to_organizations(tab)
    _to_filter(tab)
    tab.keys(f"text:{ANNA_ORG}")
    tab.wait_for("1–1 of 1")
    tab.keys("Enter")
    tab.wait_for("⏎ Open card")  # the table has the focus
    tab.keys("e")
    tab.wait_for_line("^o", "Add row")
    tab.keys("Control+o")
    tab.wait_for_line("▼", "+7 916 123-45-67")  # the new row's example number
    tab.keys(f"text:{NEW_PHONE}")
    tab.wait_for_line("▼", NEW_PHONE)
    tab.keys("Control+s")
    tab.wait_for_line("▊", NEW_PHONE)
    org, _theme = _anna(team_db)
    assert [p.value for p in org.points_of("phone")] == [NEW_PHONE]
    assert org.title == ANNA_ORG
    # alt+backspace deletes the word before the cursor in a text box (ctrl+w would close
    # the tab).
    _to_filter(tab)
    first, second = ANNA_ORG.split()
    assert tab.screen().splitlines()[1].split()[1:] == [first, second]  # the filter's row
    tab.keys("End", "Alt+Backspace")
    for _ in range(200):
        if tab.screen().splitlines()[1].split()[1:] == [first]:
            break
        tab.settle(50)
    assert tab.screen().splitlines()[1].split()[1:] == [first], tab.screen()


def _leave(tab) -> list[str]:  # noqa: ANN001 - a conftest.Tab
    """Leave the page as a closed tab or a reload would (headless Chromium does not ask on
    closing a page, it does on leaving it); the dialogs the browser showed."""
    asked: list[str] = []

    def answer(dialog) -> None:  # noqa: ANN001 - a playwright Dialog
        asked.append(dialog.type)
        dialog.accept()

    tab.page.on("dialog", answer)
    with tab.page.expect_navigation():
        tab.page.evaluate("setTimeout(() => location.href = './', 10)")
    return asked


def test_leaving_the_page_asks_first_while_the_session_is_on(browser, door_factory,
                                                             team_db: str) -> None:
    """ctrl+w closes a browser's tab (the page cannot stop it): while the session is on,
    the browser asks first; after quitting it does not."""
    door = door_factory(team_db)
    tab = log_in(browser, door.url, "anna")
    tab.wait_for(ANNA_ORG)
    tab.keys("ArrowDown")  # a key pressed: the page was used (browsers ask only then)
    assert _leave(tab) == ["beforeunload"]
    done = log_in(browser, door.url, "anna")
    done.wait_for(ANNA_ORG)
    done.keys("Control+q")
    done.page.wait_for_selector("body.-closed", timeout=30_000)
    assert _leave(done) == []
