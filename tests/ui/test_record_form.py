"""The add / edit form and the conflict dialog, on a real temporary SQLite database.

Each test pushes a RecordForm inside a tiny host app (no dependency on the main app), types
like a user, and checks what the form shows and what reached the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from peewee import Database
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Input, Select

from tui_crm.db import open_database
from tui_crm.i18n import set_language
from tui_crm.services.core import records, settings, users
from tui_crm.services.core.records import RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates
from tui_crm.ui.messages import OpenRecord
from tui_crm.ui.screens.conflict import ConflictDialog
from tui_crm.ui.screens.record_form import ConfirmDiscard, RecordForm


@dataclass
class Crm:
    db: Database
    actor: Actor


@pytest.fixture
def form_crm(tmp_path, monkeypatch) -> Crm:
    monkeypatch.setenv("TUI_CRM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUI_CRM_CONFIG_DIR", str(tmp_path / "config"))
    set_language("en")
    db = open_database(tmp_path / "form_crm.db")
    actor = users.resolve_actor()
    yield Crm(db, actor)
    db.close()


class FormHost(App[None]):
    """Opens one form on start and keeps what it was dismissed with."""

    def __init__(self, make_form: Callable[[], RecordForm]) -> None:
        super().__init__()
        self.make_form = make_form
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_form(), callback=self.results.append)


Scenario = Callable[[Pilot, FormHost], Awaitable[None]]


def run(make_form: Callable[[], RecordForm], scenario: Scenario,
        size: tuple[int, int] = (100, 40)) -> FormHost:
    app = FormHost(make_form)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot, app)

    asyncio.run(main())
    return app


def form_of(app: FormHost) -> RecordForm:
    assert isinstance(app.screen, RecordForm)
    return app.screen


async def type_into(pilot: Pilot, widget: Widget, text: str) -> None:
    """Focus a field (its text gets selected) and type over it."""
    widget.focus()
    await pilot.pause()
    if isinstance(widget, Input):
        widget.select_all()
    await pilot.press(*text)
    await pilot.pause()


async def wait_until(pilot: Pilot, condition: Callable[[], bool], rounds: int = 100) -> None:
    """Let timers run until `condition` holds (no fixed sleep: a slow machine only waits)."""
    for _round in range(rounds):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never reached the expected state")


def make_org(form_crm: Crm, name: str, **data: Any) -> RecordView:
    data.setdefault("source", "Website")
    return records.create(form_crm.actor, "organizations", {"name": name, **data})


def in_other_thread(form_crm: Crm, work: Callable[[], Any]) -> None:
    """Another session: peewee keeps one connection per thread."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            with form_crm.db.connection_context():
                work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


# --- adding --------------------------------------------------------------------------------


def test_bad_email_is_shown_next_to_the_field_and_nothing_is_saved(form_crm: Crm) -> None:
    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        assert app.focused is form.query_one("#input-name")
        await type_into(pilot, form.query_one("#input-name"), "Ромашка")
        # Pick the source with the keyboard: open the list, type to search, Enter.
        form.query_one("#input-source", Select).focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"Web")
        await pilot.press("enter")
        await pilot.pause()
        assert form.field("source").get_value() == "Website"
        emails = form.field("emails")
        emails.query_one(".point-add", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        row = emails.rows[0]
        assert app.focused is row.value_input
        await pilot.press(*"ivan@@romashka")
        await pilot.pause()
        assert "Invalid e-mail address" in row.hint  # as you type

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Invalid e-mail address" in emails.error
        assert emails.has_class("-invalid")
        assert "fix the marked fields" in form.message
        assert app.screen is form and app.results == []
        assert records.total("organizations") == 0

        await type_into(pilot, row.value_input, "ivan@romashka.ru")
        assert emails.error == "" and row.hint == ""
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor), scenario)
    [view] = app.results
    assert isinstance(view, RecordView)
    assert view.values["name"] == "Ромашка"
    assert [(p.type, p.value) for p in view.points_of("email")] == [("work", "ivan@romashka.ru")]
    assert view.values["owner"] == form_crm.actor.user_id
    assert records.get(form_crm.actor, "organizations", view.id).display["source"] == "Website"


def test_contact_with_two_phone_types_and_an_organization_picked_from_suggestions(
        form_crm: Crm) -> None:
    org = make_org(form_crm, "Ромашка")
    make_org(form_crm, "Лютик")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-last_name"), "Иванов")
        await type_into(pilot, form.query_one("#input-first_name"), "Пётр")
        picker = form.field("organization")
        await type_into(pilot, picker.input, "рома")
        assert picker.suggestions_shown
        assert [str(o.prompt) for o in picker.suggestions.options] == ["Ромашка"]
        await pilot.press("escape")  # hides the suggestions, the form stays
        await pilot.pause()
        assert not picker.suggestions_shown and app.screen is form
        await pilot.press("ш")
        await pilot.pause()
        assert picker.suggestions_shown
        await pilot.press("down", "enter")
        await pilot.pause()
        assert picker.input.value == "Ромашка" and not picker.suggestions_shown
        assert picker.get_value() == org.id

        phones = form.field("phones")
        phones.focus_editor()
        await pilot.press("ctrl+n")  # a new phone row, focused
        await pilot.pause()
        await pilot.press(*"8 (916) 123-45-67")
        await pilot.press("ctrl+n")
        await pilot.pause()
        second = phones.rows[1]
        assert app.focused is second.value_input
        await pilot.press(*"+7 495 765 43 21")
        second.type_select.value = "work"
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*"12345")
        await pilot.pause()
        assert phones.rows[2].hint == "not a valid number, kept as typed"
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("contacts", form_crm.actor), scenario)
    [view] = app.results
    assert view.values["organization"] == org.id
    phones = [(p.type, p.normalized, p.valid) for p in view.points_of("phone")]
    assert phones == [("mobile", "+79161234567", True), ("work", "+74957654321", True),
                      ("mobile", "12345", False)]  # kept as typed, marked invalid


def test_new_contact_starts_from_initial_values_and_a_row_can_be_removed(form_crm: Crm) -> None:
    org = make_org(form_crm, "Ромашка")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        assert form.field("organization").input.value == "Ромашка"
        emails = form.field("emails")
        assert len(emails.rows) == 2
        emails.rows[0].query_one(".point-remove", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert emails.get_value() == [("personal", "petr@mail.ru")]
        assert app.focused is emails.rows[0].value_input
        await pilot.press("ctrl+s")
        await pilot.pause()

    initial = {"organization": org.id, "last_name": "Петров",
               "emails": ["work:old@romashka.ru", "personal:petr@mail.ru"]}
    app = run(lambda: RecordForm("contacts", form_crm.actor, initial=initial), scenario)
    [view] = app.results
    assert view.values["organization"] == org.id
    assert [(p.type, p.value) for p in view.points_of("email")] == [("personal", "petr@mail.ru")]


def test_typed_reference_without_a_match_is_refused_at_the_field(form_crm: Crm) -> None:
    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-title"), "Call back")
        picker = form.field("organization")
        await type_into(pilot, picker.input, "Nobody Ltd")
        assert "Nothing found" in picker.hint
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "No organization called" in picker.error
        assert records.total("tasks") == 0
        await pilot.press("escape")  # changed: asks first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDiscard)
        await pilot.press("d")
        await pilot.pause()

    app = run(lambda: RecordForm("tasks", form_crm.actor), scenario)
    assert app.results == [None]


# --- editing -------------------------------------------------------------------------------


def test_edit_an_organization(form_crm: Crm) -> None:
    org = make_org(form_crm, "Ромашка", city="Тверь", phones=["work:+7 495 123-45-67"],
                   tags=["опт"])

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        assert "Ромашка" in str(form.query_one("#form-dialog").border_title)
        assert form.query_one("#input-name", Input).value == "Ромашка"
        assert form.query_one("#input-city", Input).value == "Тверь"
        assert form.field("phones").get_value() == [("work", "+7 495 123-45-67")]
        assert form.field("tags").get_value() == ["опт"]
        assert form.field("source").get_value() == "Website"
        assert not form.is_dirty
        await type_into(pilot, form.query_one("#input-city", Input), "Москва")
        assert form.is_dirty
        assert form.collect(only_changed=True) == {"city": "Москва"}
        await pilot.click("#form-save")
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor, record_id=org.id), scenario)
    [view] = app.results
    assert (view.id, view.version, view.values["city"]) == (org.id, 2, "Москва")
    assert view.values["name"] == "Ромашка" and view.tags == ["опт"]


def test_escape_on_an_unchanged_form_closes_at_once(form_crm: Crm) -> None:
    org = make_org(form_crm, "Ромашка")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        await pilot.press("escape")
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor, record_id=org.id), scenario)
    assert app.results == [None]


def test_discard_question_can_go_back_to_the_form(form_crm: Crm) -> None:
    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-name"), "Ромашка")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDiscard)
        await pilot.press("escape")  # keep editing
        await pilot.pause()
        assert app.screen is form
        assert form.query_one("#input-name", Input).value == "Ромашка"

    app = run(lambda: RecordForm("organizations", form_crm.actor), scenario)
    assert app.results == []


# --- duplicates ----------------------------------------------------------------------------


def test_duplicate_by_phone_in_another_notation_offers_to_open_it(form_crm: Crm) -> None:
    first = make_org(form_crm, "Ромашка", phones=["+7 916 123-45-67"])

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-name"), "ООО Цветы")
        form.field("source").set_value("Referral")
        await form.field("phones").add_row()
        await pilot.press(*"8 (916) 1234567")
        await pilot.press("ctrl+s")
        await pilot.pause()
        panel = form.query_one("#duplicates")
        assert panel.display
        [line] = form.duplicate_lines
        assert line == f"Looks like Ромашка — client of {form_crm.actor.full_name} (same phone)"
        assert "existing record" in form.message
        assert records.total("organizations") == 1  # nothing saved yet
        assert app.focused is form.query_one(".dup-open")
        await pilot.press("enter")  # "Open it"
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor), scenario)
    assert app.results == [OpenRecord("organizations", first.id)]


def test_duplicate_warning_appears_while_typing_and_create_anyway_saves(form_crm: Crm) -> None:
    make_org(form_crm, "Ромашка", inn="7707083893")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        form.field("source").set_value("Referral")
        await type_into(pilot, form.query_one("#input-name"), "Ромашка")
        await type_into(pilot, form.query_one("#input-inn"), "7707083893")
        # The look-up runs after a pause in typing.
        await wait_until(pilot, lambda: "tax id" in " ".join(form.duplicate_lines))
        assert form.query_one("#duplicates").display
        [line] = form.duplicate_lines
        assert line.endswith("(same tax id, name)")
        await pilot.click("#dup-ignore")  # "Create anyway"
        await pilot.pause()
        assert not form.query_one("#duplicates").display
        assert app.results == []  # acknowledged, not saved until asked
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor), scenario)
    [view] = app.results
    assert isinstance(view, RecordView) and records.total("organizations") == 2


# --- conflicts -----------------------------------------------------------------------------


async def _edit_then_conflict(pilot: Pilot, app: FormHost, form_crm: Crm, org_id: int) -> RecordForm:
    """Change the name in the form, let another session change the city, then save."""
    form = form_of(app)
    await type_into(pilot, form.query_one("#input-name"), "Ромашка и Ко")
    other = users.add_user(form_crm.actor, "masha", role="head", full_name="Маша")

    def their_edit() -> None:
        records.update(users.actor_for(other.login), "organizations", org_id,
                       {"city": "Казань"})

    in_other_thread(form_crm, their_edit)
    await pilot.press("ctrl+s")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, ConflictDialog)
    assert "was changed by Маша" in str(dialog.error)
    assert [(r.field, r.label, r.theirs, r.mine) for r in dialog.rows] == [
        ("city", "City", "Казань", "Тверь")]
    shown = [str(label.content) for label in dialog.query(".conflict-field")]
    assert shown == ["City"]
    return form


def test_conflict_reload_drops_my_edits(form_crm: Crm) -> None:
    org = make_org(form_crm, "Ромашка", city="Тверь")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = await _edit_then_conflict(pilot, app, form_crm, org.id)
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is form
        assert form.query_one("#input-name", Input).value == "Ромашка"
        assert form.query_one("#input-city", Input).value == "Казань"
        assert not form.is_dirty
        await pilot.press("escape")  # nothing changed now: closes at once
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor, record_id=org.id), scenario)
    assert app.results == [None]
    saved = records.get(form_crm.actor, "organizations", org.id)
    assert (saved.values["name"], saved.values["city"], saved.version) == ("Ромашка", "Казань", 2)


def test_conflict_overwrite_saves_mine_and_keeps_their_other_change(form_crm: Crm) -> None:
    org = make_org(form_crm, "Ромашка", city="Тверь")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        await _edit_then_conflict(pilot, app, form_crm, org.id)
        await pilot.click("#conflict-overwrite")
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor, record_id=org.id), scenario)
    [view] = app.results
    assert (view.values["name"], view.values["city"], view.version) == (
        "Ромашка и Ко", "Казань", 3)


def test_conflict_keep_editing_returns_to_the_form_unchanged(form_crm: Crm) -> None:
    org = make_org(form_crm, "Ромашка", city="Тверь")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = await _edit_then_conflict(pilot, app, form_crm, org.id)
        await pilot.press("escape")  # Keep editing
        await pilot.pause()
        assert app.screen is form
        assert form.query_one("#input-name", Input).value == "Ромашка и Ко"
        assert form.query_one("#input-city", Input).value == "Тверь"
        assert "someone else changed" in form.message
        saved = records.get(form_crm.actor, "organizations", org.id)
        assert saved.values["name"] == "Ромашка"  # never silently overwritten
        await pilot.press("ctrl+s")  # still stale: asked again
        await pilot.pause()
        assert isinstance(app.screen, ConflictDialog)
        await pilot.click("#conflict-keep")
        await pilot.pause()
        assert app.screen is form

    app = run(lambda: RecordForm("organizations", form_crm.actor, record_id=org.id), scenario)
    assert app.results == []
    assert records.get(form_crm.actor, "organizations", org.id).values["name"] == "Ромашка"


# --- dates, events, custom fields ------------------------------------------------------------


def test_date_field_understands_natural_text_and_shows_what_it_read(form_crm: Crm) -> None:
    tomorrow_10 = dates.parse_when("завтра 10:00")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-title"), "Позвонить")
        due = form.field("due_at")
        await type_into(pilot, due.input, "послепослезавтра")
        assert due.hint.startswith("Unknown date")
        await type_into(pilot, due.input, "завтра 10:00")
        weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[tomorrow_10.weekday()]
        assert due.hint == f"→ {weekday} {dates.format_datetime(tomorrow_10)}"
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("tasks", form_crm.actor), scenario)
    [view] = app.results
    assert view.values["due_at"] == tomorrow_10


def test_date_hint_in_russian(form_crm: Crm) -> None:
    set_language("ru")
    try:
        friday = dates.parse_when("пт 10:00")

        async def scenario(pilot: Pilot, app: FormHost) -> None:
            form = form_of(app)
            due = form.field("due_at")
            await type_into(pilot, due.input, "пт 10:00")
            day = f"{friday.day:02d}.{friday.month:02d}.{friday.year}"
            assert due.hint == f"→ Пт {day} 10:00"
            await pilot.press("escape", "d")
            await pilot.pause()

        app = run(lambda: RecordForm("tasks", form_crm.actor), scenario)
    finally:
        set_language("en")
    assert app.results == [None]


def test_date_field_accepts_an_offset_in_days(form_crm: Crm) -> None:
    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-title"), "Offer")
        await type_into(pilot, form.field("expected_close").input, "+3d")
        assert form.field("expected_close").hint.startswith("→ ")
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("deals", form_crm.actor), scenario)
    [view] = app.results
    assert view.values["expected_close"] == dt.date.today() + dt.timedelta(days=3)


def test_event_results_follow_the_chosen_type(form_crm: Crm) -> None:
    types = settings.event_types()
    call, meeting = types[0], types[1]

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        kind, result = form.field("event_type"), form.field("result")
        assert kind.get_value() == call.id  # a required type starts with the first one
        assert [v for _label, v in result.offered] == [r.id for r in call.results]
        kind.set_value(meeting.id)
        await pilot.pause()
        assert [v for _label, v in result.offered] == [r.id for r in meeting.results]
        result.set_value(meeting.results[0].id)
        await type_into(pilot, form.field("starts_at").input, "tomorrow 11:00")
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("events", form_crm.actor), scenario)
    [view] = app.results
    assert (view.values["event_type"], view.values["result"]) == (meeting.id,
                                                                  meeting.results[0].id)


def test_event_type_given_by_code_filters_the_results(form_crm: Crm) -> None:
    meeting = next(t for t in settings.event_types() if t.code == "meeting")

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        assert form.field("event_type").get_value() == meeting.id
        result = form.field("result")
        assert [v for _label, v in result.offered] == [r.id for r in meeting.results]
        await pilot.press("escape")
        await pilot.pause()

    run(lambda: RecordForm("events", form_crm.actor, initial={"event_type": "meeting"}),
        scenario)


def test_custom_fields_appear_and_save(form_crm: Crm) -> None:
    settings.add_custom_field(form_crm.actor, "organizations", "Contract number", "text")
    settings.add_custom_field(form_crm.actor, "organizations", "Tier", "choice", ["Gold", "Silver"])

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        number = form.field("contract_number")
        assert number is not None and number.label == "Contract number"
        await type_into(pilot, form.query_one("#input-name"), "Ромашка")
        form.field("source").set_value("Website")
        await type_into(pilot, number.editor, "Д-42")
        form.field("tier").set_value("Silver")
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor), scenario)
    [view] = app.results
    assert view.custom == {"contract_number": "Д-42", "tier": "Silver"}


# --- a small terminal ----------------------------------------------------------------------


def test_form_is_usable_at_80x24(form_crm: Crm) -> None:
    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        screen = form.region
        save = form.query_one("#form-save", Button)
        assert screen.contains_region(save.region)  # the buttons never scroll away
        await pilot.press(*"Ромашка")
        form.field("source").set_value("Website")
        # Tab walks every field (the scroll follows) down to the Save button.
        for _step in range(80):
            if app.focused is save:
                break
            await pilot.press("tab")
            assert app.focused is not None
            assert screen.contains_region(app.focused.region), app.focused
        assert app.focused is save
        await pilot.press("enter")
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor), scenario, size=(80, 24))
    [view] = app.results
    assert view.values["name"] == "Ромашка"


def test_missing_record_closes_the_form_with_a_message(form_crm: Crm) -> None:
    async def scenario(pilot: Pilot, app: FormHost) -> None:
        await pilot.pause()

    app = run(lambda: RecordForm("organizations", form_crm.actor, record_id=999), scenario)
    assert app.results == [None]


def test_a_sub_minute_repeat_rule_and_a_negative_reminder_are_marked_on_save(
        form_crm: Crm) -> None:
    event = records.create(form_crm.actor, "events", {
        "event_type": "call", "starts_at": "01.12.2026 10:00", "rrule": "FREQ=WEEKLY"})

    async def scenario(pilot: Pilot, app: FormHost) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-rrule", Input), "FREQ=SECONDLY")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "once a minute" in form.field("rrule").error
        assert "\n" not in form.field("rrule").error
        await type_into(pilot, form.query_one("#input-rrule", Input), "FREQ=WEEKLY")
        await type_into(pilot, form.query_one("#input-reminder_minutes", Input), "-5")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert form.field("reminder_minutes").error == "Must be at least 0"
        assert app.screen is form and app.results == []
        await pilot.press("escape")  # the discard question
        await pilot.pause()

    run(lambda: RecordForm("events", form_crm.actor, record_id=event.id), scenario)
    stored = records.get(form_crm.actor, "events", event.id)
    assert (stored.version, stored.values["rrule"], stored.values["reminder_minutes"]) == (
        event.version, "FREQ=WEEKLY", None)
