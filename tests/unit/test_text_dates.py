"""Dates (`tui_crm.text.dates`): the two-digit year of a birthday, ages that are never
negative, and every date we print reads back as itself."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_crm.services.core.kinds import KINDS
from tui_crm.text import dates
from tui_crm.text import dates as old_home
from tui_crm.text.dates import DateParseError, age, format_date, format_datetime, parse_date

TODAY = dt.date(2026, 3, 16)


def test_a_two_digit_year_of_a_birthday_is_in_the_past() -> None:
    born = parse_date("12.05.85", TODAY, past=True)
    assert born == dt.date(1985, 5, 12)
    assert age(born, TODAY) == 40


@pytest.mark.parametrize(("text", "expected"), [
    ("12.05.85", dt.date(1985, 5, 12)),
    ("16.03.26", dt.date(2026, 3, 16)),  # today is not in the future
    ("17.03.26", dt.date(1926, 3, 17)),  # tomorrow would be: a hundred years earlier
    ("01.01.00", dt.date(2000, 1, 1)),
    ("31.12.99", dt.date(1999, 12, 31)),
    ("29.02.24", dt.date(2024, 2, 29)),
    ("12/05/85", dt.date(1985, 5, 12)),
    ("12.05.1985", dt.date(1985, 5, 12)),  # a four-digit year is taken as written
])
def test_birthday_years(text: str, expected: dt.date) -> None:
    assert parse_date(text, TODAY, past=True) == expected


def test_other_dates_keep_20yy() -> None:
    # A deadline or a payment: "31.12.26" is this century's, even when it is in the past.
    assert parse_date("12.05.85", TODAY) == dt.date(2085, 5, 12)
    assert parse_date("01.02.26", TODAY) == dt.date(2026, 2, 1)


def test_a_birthday_that_does_not_exist_a_century_earlier_is_refused() -> None:
    # 29.02.00 in 2000 is fine; read a century earlier (a future 2100 is not), 1900 had none.
    with pytest.raises(DateParseError, match="Invalid date"):
        parse_date("29.02.00", dt.date(1999, 1, 1), past=True)


def test_only_the_birthday_is_past_only() -> None:
    flagged = {(kind, f.name) for kind, spec in KINDS.items() for f in spec.fields
               if f.past_only}
    assert flagged == {("contacts", "birthday")}


@settings(max_examples=400, deadline=None)
@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
       st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_age_is_never_negative(birthday: dt.date, today: dt.date) -> None:
    years = age(birthday, today)
    if birthday > today or not dates.has_year(birthday):
        assert years is None
    else:
        assert years is not None and years >= 0
        assert birthday.replace(year=birthday.year + years, day=min(birthday.day, 28)) <= today


@settings(max_examples=400, deadline=None)
@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(8999, 12, 31)),
       st.sampled_from(("ru", "en")), st.booleans())
def test_every_date_we_print_reads_back(day: dt.date, language: str, past: bool) -> None:
    today = max(day, TODAY) if past else TODAY
    if not dates.has_year(day):  # a day and month alone (a birthday) reads back as one
        assert parse_date(format_date(day, language), today, past=True) == day
    else:
        assert parse_date(format_date(day, language), today, past=past) == day
    moment = dt.datetime.combine(day, dt.time(10, 30))
    assert dates.parse_when(format_datetime(moment, language), past=past) == moment


@settings(max_examples=400, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY))
def test_a_two_digit_birthday_reads_as_the_nearest_past_date(day: dt.date) -> None:
    text = f"{day.day:02d}.{day.month:02d}.{day.year % 100:02d}"
    read = parse_date(text, TODAY, past=True)
    assert read <= TODAY and (read.month, read.day, read.year % 100) == (day.month, day.day,
                                                                          day.year % 100)
    if day.year > TODAY.year - 100 or (day.year == TODAY.year - 100
                                       and (day.month, day.day) > (TODAY.month, TODAY.day)):
        assert read == day  # within the last hundred years: exactly the day meant


def test_the_old_module_is_the_new_one() -> None:
    assert old_home is dates
    assert old_home.parse_date is parse_date
