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
    """A demo base (its generator, as `tui-crm demo`), the busiest manager of today with a
    password, and what the services say that manager should see."""
    from tui_crm.services.core import passwords, records, users
    from tui_crm.services.core.records import ListQuery
    from tui_crm.services.ops import demo
    from tui_crm.services.planning import planning
    from tui_crm.ui.widgets.sidebar import visible_sections

    target = str(tmp_path / "data" / "demo.sqlite3")
    database = _open(target)
    (tmp_path / "data").chmod(0o700)  # as installed: not a folder shared with everyone
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
        day = Day(target, login, actor.user_id, actor.full_name,
                  [Item(i.organization or i.contact, i.phone) for i in items],
                  org.id, org.title, str(org.values.get("city") or ""),
                  [o.title for o in everyone if o.id != org.id],
                  {s.key: n for n, s in enumerate(visible_sections(), start=1)})
    finally:
        _close(database)  # the test opens the file again when it reads the services
    yield day


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
    tab.wait_for(words.card_title.format(name=day.org_name))
    tab.wait_for_line("▊ ", day.org_city)  # the card's fields: the city, the owner
    tab.wait_for_line("▊ ", day.full_name)
    return _card(tab.screen())


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


def _new_events(day: Day, before: set[int]) -> tuple[dict, list[dict]]:
    """The call just logged (one, done) and the next steps planned with it."""
    new = [e.values for e in _logged_events(day) if e.id not in before]
    done = [e for e in new if e["status"] == "done"]
    assert len(done) == 1, new
    return done[0], [e for e in new if e["status"] == "planned"]


def _the_call_is_on_the_card_and_today(tab: Tab, day: Day, words: Words, call: dict,
                                       result: str) -> None:
    """The card's last contact is the call; Today (F1: the sidebar's first) lists it as
    done, with its result."""
    when = call["starts_at"]
    tab.dismiss_toasts()
    tab.wait_for_line("▊ " + words.last_contact, f"{when:{words.date}} {when:%H:%M}")
    assert day.numbers["today"] == 1
    tab.keys("F1")
    tab.wait_for_line(f"✓ {when:%H:%M}", day.org_name, result)


def test_a_managers_day_in_the_browser(browser, door_factory, demo_day: Day) -> None:
    day = demo_day
    door = door_factory(day.target)
    call_type = _call_type(day, "en")
    warm = next(n for n, r in enumerate(call_type.results, start=1) if r.warm)
    result = call_type.results[warm - 1]
    before = {e.id for e in _logged_events(day)}
    tab = log_in(browser, door.url, day.login)
    _today_shows_the_day(tab, day)
    _filter_and_open_the_card(tab, day, ENGLISH, f"Alt+{day.numbers['organizations']}")
    # `l`: a call (c), a warm result by its number, the next step typed over the offered +1d.
    tab.keys("l")
    tab.wait_for(ENGLISH.press_result)
    tab.settle()
    tab.keys("c", str(warm))
    tab.wait_for(f"{result.name}  ★   ◀")
    tab.keys("text:+2d 11:00", "Enter")
    tab.wait_for(ENGLISH.logged.format(title=day.org_name))
    # The database: the call, done today by the manager with that result, and the next step.
    today = dt.date.today()
    call, planned = _new_events(day, before)
    assert call["starts_at"].date() == today and call["starts_at"] <= dt.datetime.now()
    assert call["event_type"] == call_type.id and call["result"] == result.id
    assert call["organization"] == day.org_id and call["assignee"] == day.user_id
    assert [e["starts_at"] for e in planned] == [
        dt.datetime.combine(today + dt.timedelta(days=2), dt.time(11, 0))]
    _the_call_is_on_the_card_and_today(tab, day, ENGLISH, call, result.name)


# What Option+digit types on a Mac (a browser there hands the page that character).
MAC_OPTION = dict(zip(range(1, 10), "¡™£¢∞§¶•ª", strict=True))


def test_the_day_in_russian_with_f_keys_and_a_macs_option_digit(
        browser, door_factory, demo_day: Day) -> None:
    """The manager's own language setting is Russian: the login page (the browser asks for
    Russian), Today, the card and the dialog are Russian; a result without a next step is
    saved with ctrl+s."""
    from tui_crm.services.core import settings, users

    day = demo_day
    database = _open(day.target)
    try:
        settings.set_user_preference(users.actor_for(day.login), "language", "ru")
    finally:
        _close(database)
    door = door_factory(day.target)
    call_type = _call_type(day, "ru")
    plain = next(n for n, r in enumerate(call_type.results, start=1) if not r.warm)
    result = call_type.results[plain - 1]
    before = {e.id for e in _logged_events(day)}
    context = browser.new_context(viewport={"width": 1300, "height": 800}, locale="ru-RU")
    login_page = context.new_page()
    login_page.goto(door.url + "/")
    assert "Пароль" in login_page.inner_text("form")
    login_page.close()
    tab = log_in(browser, door.url, day.login, context=context)
    shown = _today_shows_the_day(tab, day)
    assert "tui-crm · Сегодня" in shown and "— сегодня" in shown
    assert "Организации" in _table(shown)  # the sidebar
    # Option+digit of a Mac, then back by F1, and to Organizations by its F-key.
    organizations = day.numbers["organizations"]
    tab.keys(f"text:{MAC_OPTION[organizations]}")
    tab.wait_for(f"tui-crm · {RUSSIAN.organizations}")
    tab.keys("F1")
    tab.wait_for("tui-crm · Сегодня")
    card = _filter_and_open_the_card(tab, day, RUSSIAN, f"F{organizations}")
    assert "Ответственный" in card and "Город" in card
    tab.keys("l")
    tab.wait_for(RUSSIAN.press_result)
    tab.settle()
    tab.keys(str(plain))
    tab.wait_for(f"{result.name}   ◀")
    tab.keys("Control+s")
    tab.wait_for(RUSSIAN.logged.format(title=day.org_name))
    call, planned = _new_events(day, before)
    assert call["starts_at"].date() == dt.date.today() and not planned
    assert call["result"] == result.id and call["organization"] == day.org_id
    _the_call_is_on_the_card_and_today(tab, day, RUSSIAN, call, result.name)
