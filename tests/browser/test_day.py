"""A manager's day in headless Chromium on a demo base, as in the terminal: Today with the
day's calls (names and phones), a filter in Organizations, the card, `l` to log a call with
its result and next step — then the database says it happened, and Today and the card show
it. Once in English, once in Russian (the manager's own language setting).

What to expect is read through the services from the same database file, never copied
from the screen. Sections are reached the terminal's way, alt+N and F_N: those keys cross
xterm.js and textual-serve as escape sequences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, Tab, log_in

pytestmark = pytest.mark.browser

MANAGERS = ("ivanov", "petrova", "kuznetsov", "jsmith")  # the demo's managers
SHOWN_ITEMS = 5  # Today's first items, all on the first screen


@dataclass
class Item:
    """One event of Today as the services give it."""

    organization: str
    phone: str


@dataclass
class Day:
    """A demo base and what its busiest manager should see today."""

    target: str
    login: str
    user_id: int
    full_name: str
    items: list[Item]  # Today's events in the order the screen lists them
    org_id: int  # a client of one of them: the one the day works with
    org_name: str
    org_city: str
    others: list[str]  # the manager's other organizations (the filter hides them)
    numbers: dict[str, int]  # section → its number in the sidebar (alt+N, F_N)


def _open(target: str):  # noqa: ANN202 - a peewee database
    from tui_crm.db import open_database

    return open_database(target)


def _close(database) -> None:  # noqa: ANN001
    from tui_crm.db.models import database_proxy

    database.close()
    database_proxy.initialize(None)


def _items(view) -> list:  # noqa: ANN001 - a planning.DayView
    """The day's events in the order Today lists them: overdue, the blocks, outside."""
    return [*view.overdue, *(i for b in view.blocks for i in b.items), *view.outside]


@pytest.fixture
def demo_day(tmp_path: Path) -> Iterator[Day]:
    from tui_crm.services.core import passwords, records, users
    from tui_crm.services.core.records import ListQuery
    from tui_crm.services.ops import demo
    from tui_crm.services.planning import planning
    from tui_crm.ui.widgets.sidebar import visible_sections

    target = str(tmp_path / "data" / "demo.sqlite3")
    database = _open(target)
    try:
        demo.generate(orgs=40, contacts=80, events=400, seed=3)
        today = dt.date.today()
        views = {login: planning.day_view(users.actor_for(login), today) for login in MANAGERS}
        login = max(MANAGERS, key=lambda name: len(_items(views[name])))
        actor = users.actor_for(login)
        items = _items(views[login])
        assert items, "the demo gives its managers calls today"
        passwords.set_password(users.resolve_actor(), login, PASSWORD)
        # The client the day works with: one a filter by its name finds alone.
        found = next(i for i in items if i.organization_id and records.list_records(
            actor, "organizations", ListQuery(text=i.organization)).total == 1)
        org = records.get(actor, "organizations", found.organization_id)
        everyone = records.list_records(actor, "organizations", ListQuery(limit=200)).rows
        yield Day(target, login, actor.user_id, actor.full_name,
                  [Item(i.organization or i.contact, i.phone) for i in items],
                  org.id, org.title, str(org.values.get("city") or ""),
                  [o.title for o in everyone if o.id != org.id],
                  {s.key: n for n, s in enumerate(visible_sections(), start=1)})
    finally:
        _close(database)


@dataclass
class Words:
    """The UI's words the test waits for, in one language."""

    organizations: str
    card_title: str  # "Organization: {name}"
    last_contact: str
    press_result: str
    logged: str  # "Logged: {title}"
    date: str  # how a date is shown: strftime


ENGLISH = Words("Organizations", "Organization: {name}", "Last contact",
                "Press the number of the result", "Logged: {title}", "%Y-%m-%d")
RUSSIAN = Words("Организации", "Организация: {name}", "Последний контакт",
                "Нажмите номер результата", "Записано: {title}", "%d.%m.%Y")


def _table(screen: str) -> str:
    """The left of the screen (sidebar and table), without the card beside it."""
    return "\n".join(line.split("▊")[0] for line in screen.splitlines())


def _card(screen: str) -> str:
    return "\n".join(line.split("▊")[-1] for line in screen.splitlines() if "▊" in line)


def _today_shows_the_day(tab: Tab, day: Day) -> str:
    shown = tab.wait_for(day.items[0].organization)
    assert day.full_name in shown.splitlines()[0]  # the session is the manager's
    for item in day.items[:SHOWN_ITEMS]:
        assert item.organization in shown, item
        assert item.phone in shown, item
    return shown


def _filter_and_open_the_card(tab: Tab, day: Day, words: Words, section_key: str) -> str:
    """To Organizations by `section_key` (alt+N or F_N), filter to the day's client, open
    its card."""
    tab.keys(section_key)
    tab.wait_for(f"tui-crm · {words.organizations}")
    listed = _table(tab.wait_for("⏎"))
    assert day.org_name in listed and any(o in listed for o in day.others)
    tab.keys("/")
    tab.wait_for("esc")  # the filter has the focus
    tab.keys(f"text:{day.org_name}")
    narrowed = _table(tab.wait_for("1–1 "))
    assert day.org_name in narrowed
    assert not [o for o in day.others if o in narrowed and o not in day.org_name]
    tab.keys("Enter")  # from the filter to the table
    tab.wait_for("⏎")
    tab.keys("Enter")  # the card
    card = _card(tab.wait_for(words.card_title.format(name=day.org_name)))
    assert day.org_city in card and day.full_name in card  # the card's city and owner
    return card


def _logged_events(day: Day) -> list:
    """The client's events, newest first, through the services (as the manager)."""
    from tui_crm.services.core import records, users
    from tui_crm.services.core.records import ListQuery

    database = _open(day.target)
    try:
        return records.list_records(users.actor_for(day.login), "events", ListQuery(
            filters={"organization": day.org_id}, sort="starts_at", descending=True,
            limit=200)).rows
    finally:
        _close(database)


def _call_type(day: Day, language: str):  # noqa: ANN202 - a settings.EventTypeInfo
    """The call type, its results' names in `language` (in the order of their keys)."""
    from tui_crm.i18n import get_language, set_language
    from tui_crm.services.core import settings

    database = _open(day.target)
    before = get_language()
    set_language(language)
    try:
        return next(t for t in settings.event_types() if t.code == "call")
    finally:
        set_language(before)
        _close(database)


def test_a_managers_day_in_the_browser(browser, door_factory, demo_day: Day) -> None:
    day = demo_day
    door = door_factory(day.target)
    call_type = _call_type(day, "en")
    results = call_type.results
    warm = next(n for n, r in enumerate(results, start=1) if r.warm)
    before = {e.id for e in _logged_events(day)}
    tab = log_in(browser, door.url, day.login)
    _today_shows_the_day(tab, day)
    _filter_and_open_the_card(tab, day, ENGLISH, f"Alt+{day.numbers['organizations']}")
    # `l`: a call (c), a warm result by its number, the next step typed over the offered +1d.
    tab.keys("l")
    tab.wait_for(ENGLISH.press_result)
    tab.settle()
    tab.keys("c", str(warm))
    tab.wait_for(f"{results[warm - 1].name}  ★   ◀")
    tab.keys("text:+2d 11:00", "Enter")
    tab.wait_for(ENGLISH.logged.format(title=day.org_name))
    # The database: the call, done today by the manager with that result, and the next step.
    today, now = dt.date.today(), dt.datetime.now()
    new = [e for e in _logged_events(day) if e.id not in before]
    done = [e for e in new if e.values["status"] == "done"]
    planned = [e for e in new if e.values["status"] == "planned"]
    assert len(done) == 1 and len(planned) == 1, [e.values for e in new]
    call = done[0].values
    assert call["starts_at"].date() == today and call["starts_at"] <= now
    assert call["event_type"] == call_type.id and call["result"] == results[warm - 1].id
    assert call["organization"] == day.org_id and call["assignee"] == day.user_id
    assert planned[0].values["starts_at"] == dt.datetime.combine(today + dt.timedelta(days=2),
                                                                 dt.time(11, 0))
    # The card shows it: the last contact is today.
    tab.wait_for_line("▊ " + ENGLISH.last_contact, f"{today:{ENGLISH.date}} {call['starts_at']:%H:%M}")
    # Today (F1, the sidebar's first) lists the call as done, with its result.
    assert day.numbers["today"] == 1
    tab.keys("F1")
    tab.wait_for_line("✓ " + f"{call['starts_at']:%H:%M}", day.org_name, results[warm - 1].name)
