"""Repeat rules: what may be saved (at most once a minute, one RRULE, a date at all), and
an expansion bounded by the range asked for — the same occurrences as dateutil, without
stepping from a start years ago, and never more than a cap however hostile a stored rule."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tui_crm.cli.main import main
from tui_crm.db import models as m
from tui_crm.errors import ValidationError
from tui_crm.services.core import events, records, recurrence, users
from tui_crm.services.planning import planning

NOW = dt.datetime(2026, 11, 27, 10, 30)
TODAY = NOW.date()


# --- what may be saved ------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [
    "FREQ=SECONDLY", "FREQ=SECONDLY;INTERVAL=90", "FREQ=MINUTELY;BYSECOND=0,30",
    "FREQ=DAILY;BYSECOND=1,2", "FREQ=SECONDLY;COUNT=100000000",
])
def test_a_rule_more_often_than_once_a_minute_is_refused(rule: str) -> None:
    with pytest.raises(recurrence.RuleProblem, match="at most once a minute"):
        recurrence.check(rule, NOW)


@pytest.mark.parametrize(("rule", "words"), [
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),  # dateutil repeats the same moment forever
    ("FREQ=DAILY;COUNT=100000000", "COUNT"),
    ("FREQ=DAILY;COUNT=3;UNTIL=20261231T000000", "not both"),
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "no date"),
    ("FREQ=YEARLY;BYEASTER=0", "BYEASTER"),
    ("FREQ=DAILY\nEXDATE:20261201T103000", "one rule"),
    ("DTSTART:19000101T000000\nRRULE:FREQ=MINUTELY", "one rule"),
    ("FREQ=SOMETIMES", "valid"),
])
def test_rules_that_cannot_be_run_safely_are_refused(rule: str, words: str) -> None:
    with pytest.raises(recurrence.RuleProblem, match=words):
        recurrence.check(rule, NOW)


@pytest.mark.parametrize("rule", ["FREQ=MINUTELY", "FREQ=MINUTELY;INTERVAL=15;BYSECOND=0",
                                  "RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=YEARLY;COUNT=10",
                                  "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29"])
def test_ordinary_rules_pass(rule: str) -> None:
    recurrence.check(rule, NOW)


@pytest.fixture
def team(db):  # noqa: ANN001, ANN201
    admin = users.resolve_actor()
    users.add_user(admin, "anna", role="manager")
    return admin, users.actor_for("anna")


def test_saving_a_sub_minute_rule_is_refused_and_nothing_is_written(team, row_counts) -> None:
    _admin, anna = team
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        records.create(anna, "events", {"event_type": "call", "starts_at": NOW,
                                        "rrule": "FREQ=SECONDLY;COUNT=100000000"})
    assert set(refused.value.errors) == {"rrule"}
    assert row_counts() == before
    ok = records.create(anna, "events", {"event_type": "call", "starts_at": NOW,
                                         "rrule": "FREQ=WEEKLY"})
    with pytest.raises(ValidationError, match="once a minute"):
        records.update(anna, "events", ok.id, {"rrule": "FREQ=MINUTELY;BYSECOND=0,1"})
    assert records.get(anna, "events", ok.id).values["rrule"] == "FREQ=WEEKLY"


def test_the_cli_refuses_a_sub_minute_rule_with_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = str(tmp_path / "crm.sqlite3")
    code = main(["--db", db, "add", "events", "event_type=call", "starts_at=2026-11-27 10:00",
                 "rrule=FREQ=SECONDLY"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "rrule:" in err and "once a minute" in err


# --- expansion --------------------------------------------------------------------------------


def test_a_minutely_rule_started_ten_years_ago_gives_the_day_without_replaying_ten_years(
) -> None:
    start = dt.datetime(2016, 11, 27, 8, 0, 17)
    day = dt.datetime.combine(TODAY, dt.time())
    found = recurrence.between("FREQ=MINUTELY", start, day, day + dt.timedelta(days=1))
    # 5.2 million minutes lie between the series' start and the day; expansion reads at
    # most MAX_STEPS occurrences from dateutil, so it can only have started near the day.
    assert (day - start) // dt.timedelta(minutes=1) > 100 * recurrence.MAX_STEPS
    assert len(found) == 1440
    assert found[0] == day.replace(second=17) and found[-1] == day.replace(
        hour=23, minute=59, second=17)


def test_a_range_never_yields_more_than_the_cap() -> None:
    start = dt.datetime(2016, 1, 1)
    week = recurrence.between("FREQ=MINUTELY", start, NOW, NOW + dt.timedelta(days=7))
    assert len(week) == recurrence.MAX_OCCURRENCES


def test_a_stored_rule_the_check_refuses_occurs_once_at_its_start() -> None:
    start = dt.datetime(2026, 11, 27, 9, 0)
    day = dt.datetime.combine(TODAY, dt.time())
    assert recurrence.between("FREQ=SECONDLY;COUNT=100000000", start, day,
                              day + dt.timedelta(days=1)) == [start]
    assert recurrence.between("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", start, day,
                              day + dt.timedelta(days=1)) == [start]
    assert recurrence.between("FREQ=SECONDLY", start, day + dt.timedelta(days=1),
                              day + dt.timedelta(days=2)) == []


RULES = st.builds(
    lambda freq, interval, extra: ";".join([f"FREQ={freq}", f"INTERVAL={interval}", *extra]),
    st.sampled_from(["MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    st.integers(1, 5),
    st.lists(st.sampled_from([
        "BYDAY=MO", "BYDAY=TU,FR", "BYDAY=-1FR", "BYMONTHDAY=1", "BYMONTHDAY=-1",
        "BYMONTHDAY=13", "BYMONTH=2", "BYMONTH=3,11", "BYHOUR=9,17", "BYMINUTE=0,30",
        "BYSETPOS=1", "WKST=SU", "BYYEARDAY=100", "BYWEEKNO=10", "UNTIL=20280101T000000",
        "COUNT=40"]), max_size=3, unique_by=lambda s: s.split("=")[0]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=RULES, start_minutes=st.integers(0, 3 * 365 * 1440),
       lead=st.integers(-3000, 60 * 1440), length=st.integers(1, 10 * 1440),
       seconds=st.integers(0, 59))
def test_expansion_equals_dateutil(rule: str, start_minutes: int, lead: int, length: int,
                                   seconds: int) -> None:
    """The restarted, moved expansion gives exactly dateutil's occurrences from DTSTART."""
    dtstart = dt.datetime(2024, 1, 1) + dt.timedelta(minutes=start_minutes, seconds=seconds)
    assume(recurrence.allowed(rule, dtstart))
    begin = dtstart + dt.timedelta(minutes=lead)
    end = begin + dt.timedelta(minutes=length)
    parsed = rrulestr(rule, dtstart=dtstart)
    if "FREQ=MINUTELY" in rule or "FREQ=HOURLY" in rule:
        # The reference steps from DTSTART: keep it close for a quick reference.
        assume(lead < 20 * 1440)
    reference = [t for t in parsed.between(begin, end, inc=True) if begin <= t < end]
    assert recurrence.between(rule, dtstart, begin, end) == reference[:recurrence.MAX_OCCURRENCES]


# --- Today with a hostile stored rule ---------------------------------------------------------


def _hostile_series(anna, rule: str, when: dt.datetime) -> int:  # noqa: ANN001
    view = records.create(anna, "events", {"event_type": "call", "starts_at": when,
                                           "assignee": anna.user_id, "rrule": "FREQ=DAILY"})
    # Stored as it would have been before the check existed.
    m.Event.update(rrule=rule).where(m.Event.id == view.id).execute()
    return view.id


def test_today_with_hostile_stored_rules_shows_what_fits_the_day(team) -> None:
    _admin, anna = team
    sub_minute = _hostile_series(anna, "FREQ=SECONDLY;COUNT=100000000", NOW.replace(hour=9))
    old_minutely = _hostile_series(anna, "FREQ=MINUTELY", dt.datetime(2016, 11, 27, 9, 0))
    never = _hostile_series(anna, "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", NOW.replace(hour=12))
    view = planning.day_view(anna, TODAY, now=NOW)
    items = [i for b in view.blocks for i in b.items] + view.outside
    by_series: dict[int, int] = {}
    for item in items:
        by_series[item.event_id] = by_series.get(item.event_id, 0) + 1
    assert by_series == {sub_minute: 1, old_minutely: 1440, never: 1}
    week = planning.week(anna, TODAY)
    assert sum(n for _day, n in week) <= events.MAX_REPEATS
    assert week[0][1] == 1 + 1440 + 1  # the day itself, counted the same way


def test_the_today_command_with_a_hostile_stored_rule(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = str(tmp_path / "crm.sqlite3")
    assert main(["--db", db, "add", "events", "event_type=call", "rrule=FREQ=DAILY",
                 f"starts_at={TODAY.isoformat()} 09:00"]) == 0
    event_id = int(capsys.readouterr().out)
    from tui_crm.db import open_database

    database = open_database(db)
    m.Event.update(rrule="FREQ=SECONDLY;COUNT=100000000").where(
        m.Event.id == event_id).execute()
    database.close()
    assert main(["--db", db, "today", "--date", TODAY.isoformat(), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    listed = [i for b in data["blocks"] for i in b["events"]] + data["outside_blocks"]
    assert [i["event_id"] for i in listed] == [event_id]


def test_reminders_of_hostile_stored_values_stay_bounded(team) -> None:
    from tui_crm.services.planning import reminders

    _admin, anna = team
    series = _hostile_series(anna, "FREQ=MINUTELY", dt.datetime(2016, 11, 27, 9, 0))
    # A reminder "two billion minutes before" (stored before the field had a range) would
    # make every reminder look-up expand four thousand years of the series.
    m.Event.update(reminder_minutes=2**31 - 1).where(m.Event.id == series).execute()
    found = reminders.upcoming(anna, now=NOW, hours=24)
    assert 0 < len(found) <= recurrence.MAX_OCCURRENCES
    assert all(r.event_id == series for r in found)


def test_the_calendar_export_passes_on_only_rules_that_pass_the_check(team) -> None:
    from tui_crm.services.core.records import ListQuery
    from tui_crm.services.transfer import icalendar_export

    _admin, anna = team
    weekly = records.create(anna, "events", {"event_type": "call", "starts_at": NOW,
                                             "rrule": "FREQ=WEEKLY;BYDAY=FR"})
    hostile = _hostile_series(anna, "FREQ=SECONDLY;COUNT=100000000", NOW)
    data, count = icalendar_export.calendar(anna, ListQuery())
    text = data.decode()
    assert count == 2
    blocks = text.split("BEGIN:VEVENT")[1:]
    by_id = {next(b for b in blocks if f"event-{i}-" in b): i for i in (weekly.id, hostile)}
    rules = {event_id: [line for line in block.splitlines() if line.startswith("RRULE")]
             for block, event_id in by_id.items()}
    assert rules == {weekly.id: ["RRULE:FREQ=WEEKLY;BYDAY=FR"], hostile: []}
