"""Tests of tui_crm.text.dates: natural date parsing in English and Russian."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from tui_crm.i18n import get_language, set_language
from tui_crm.text import dates
from tui_crm.text.dates import (
    DateParseError,
    age,
    format_date,
    format_datetime,
    parse_date,
    parse_when,
)

# Friday, 27 November 2026, 14:35:12.345
NOW = datetime(2026, 11, 27, 14, 35, 12, 345)
TODAY = NOW.date()


@pytest.fixture
def language() -> Iterator[None]:
    saved = get_language()
    yield
    set_language(saved)


def test_now_is_a_friday() -> None:
    assert NOW.weekday() == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # numeric dates
        ("31.12.2026", datetime(2026, 12, 31, 9, 0)),
        ("31.12.26", datetime(2026, 12, 31, 9, 0)),
        ("31.12", datetime(2026, 12, 31, 9, 0)),
        ("1.2", datetime(2026, 2, 1, 9, 0)),
        ("01.02.2027", datetime(2027, 2, 1, 9, 0)),
        ("29.02.2028", datetime(2028, 2, 29, 9, 0)),
        ("2026-12-31", datetime(2026, 12, 31, 9, 0)),
        ("2026-12-31 10:00", datetime(2026, 12, 31, 10, 0)),
        ("2026-12-31T10:00", datetime(2026, 12, 31, 10, 0)),
        ("2026-12-31t10:00", datetime(2026, 12, 31, 10, 0)),
        ("31.12.2026 10:00", datetime(2026, 12, 31, 10, 0)),
        ("31.12.2026 в 10:00", datetime(2026, 12, 31, 10, 0)),
        ("31.12 at 18:45", datetime(2026, 12, 31, 18, 45)),
        ("31/12/2026", datetime(2026, 12, 31, 9, 0)),
        ("31/12/2026 23:59", datetime(2026, 12, 31, 23, 59)),
        ("  31.12.2026   10:00  ", datetime(2026, 12, 31, 10, 0)),
        # month names
        ("31 декабря", datetime(2026, 12, 31, 9, 0)),
        ("5 марта 2027", datetime(2027, 3, 5, 9, 0)),
        ("5 мар 2027 г.", datetime(2027, 3, 5, 9, 0)),
        ("31 Dec 2026 10:00", datetime(2026, 12, 31, 10, 0)),
        ("1 may", datetime(2026, 5, 1, 9, 0)),
        # day words
        ("today", datetime(2026, 11, 27, 9, 0)),
        ("Today", datetime(2026, 11, 27, 9, 0)),
        ("сегодня", datetime(2026, 11, 27, 9, 0)),
        ("СЕГОДНЯ", datetime(2026, 11, 27, 9, 0)),
        ("tomorrow", datetime(2026, 11, 28, 9, 0)),
        ("завтра", datetime(2026, 11, 28, 9, 0)),
        ("day after tomorrow", datetime(2026, 11, 29, 9, 0)),
        ("the day after tomorrow", datetime(2026, 11, 29, 9, 0)),
        ("послезавтра", datetime(2026, 11, 29, 9, 0)),
        ("yesterday", datetime(2026, 11, 26, 9, 0)),
        ("вчера", datetime(2026, 11, 26, 9, 0)),
        ("позавчера", datetime(2026, 11, 25, 9, 0)),
        # day words with a time
        ("today 18:00", datetime(2026, 11, 27, 18, 0)),
        ("сегодня в 18:00", datetime(2026, 11, 27, 18, 0)),
        ("tomorrow at 10:00", datetime(2026, 11, 28, 10, 0)),
        ("tomorrow 10:00", datetime(2026, 11, 28, 10, 0)),
        ("Завтра в 10:00", datetime(2026, 11, 28, 10, 0)),
        ("завтра 9:30", datetime(2026, 11, 28, 9, 30)),
        ("завтра, 10:00", datetime(2026, 11, 28, 10, 0)),
        ("послезавтра в 00:00", datetime(2026, 11, 29, 0, 0)),
        ("day after tomorrow at 23:59", datetime(2026, 11, 29, 23, 59)),
        ("вчера в 12:00", datetime(2026, 11, 26, 12, 0)),
        ("yesterday at 12:00", datetime(2026, 11, 26, 12, 0)),
        # bare time: today
        ("10:00", datetime(2026, 11, 27, 10, 0)),
        ("9:05", datetime(2026, 11, 27, 9, 5)),
        ("в 16:00", datetime(2026, 11, 27, 16, 0)),
        ("at 16:00", datetime(2026, 11, 27, 16, 0)),
        # now
        ("now", datetime(2026, 11, 27, 14, 35)),
        ("сейчас", datetime(2026, 11, 27, 14, 35)),
        # compact offsets
        ("+3d", datetime(2026, 11, 30, 9, 0)),
        ("+0d", datetime(2026, 11, 27, 9, 0)),
        ("+2w", datetime(2026, 12, 11, 9, 0)),
        ("+1h", datetime(2026, 11, 27, 15, 35)),
        ("+10h", datetime(2026, 11, 28, 0, 35)),
        ("+30m", datetime(2026, 11, 27, 15, 5)),
        ("+1m", datetime(2026, 11, 27, 14, 36)),
        ("+30min", datetime(2026, 11, 27, 15, 5)),
        ("+1mo", datetime(2026, 12, 27, 9, 0)),
        ("+3mo", datetime(2027, 2, 27, 9, 0)),
        ("+1y", datetime(2027, 11, 27, 9, 0)),
        ("+3D", datetime(2026, 11, 30, 9, 0)),
        ("+3 d", datetime(2026, 11, 30, 9, 0)),
        ("-1d", datetime(2026, 11, 26, 9, 0)),
        ("+3д", datetime(2026, 11, 30, 9, 0)),
        ("+2н", datetime(2026, 12, 11, 9, 0)),
        ("+1ч", datetime(2026, 11, 27, 15, 35)),
        ("+15мин", datetime(2026, 11, 27, 14, 50)),
        ("+2мес", datetime(2027, 1, 27, 9, 0)),
        ("+3d 10:00", datetime(2026, 11, 30, 10, 0)),
        ("+1д в 08:15", datetime(2026, 11, 28, 8, 15)),
        # wordy offsets
        ("через 3 дня", datetime(2026, 11, 30, 9, 0)),
        ("через 5 дней", datetime(2026, 12, 2, 9, 0)),
        ("через день", datetime(2026, 11, 28, 9, 0)),
        ("in 3 days", datetime(2026, 11, 30, 9, 0)),
        ("in a day", datetime(2026, 11, 28, 9, 0)),
        ("in 2 hours", datetime(2026, 11, 27, 16, 35)),
        ("in an hour", datetime(2026, 11, 27, 15, 35)),
        ("in 30 minutes", datetime(2026, 11, 27, 15, 5)),
        ("через 2 часа", datetime(2026, 11, 27, 16, 35)),
        ("через час", datetime(2026, 11, 27, 15, 35)),
        ("через 30 минут", datetime(2026, 11, 27, 15, 5)),
        ("через неделю", datetime(2026, 12, 4, 9, 0)),
        ("через 2 недели", datetime(2026, 12, 11, 9, 0)),
        ("через две недели", datetime(2026, 12, 11, 9, 0)),
        ("in two weeks", datetime(2026, 12, 11, 9, 0)),
        ("in a week", datetime(2026, 12, 4, 9, 0)),
        ("через месяц", datetime(2026, 12, 27, 9, 0)),
        ("in 1 month", datetime(2026, 12, 27, 9, 0)),
        ("через год", datetime(2027, 11, 27, 9, 0)),
        ("через 3 дня в 11:00", datetime(2026, 11, 30, 11, 0)),
        ("in 3 days at 11:00", datetime(2026, 11, 30, 11, 0)),
        # next week: Monday
        ("next week", datetime(2026, 11, 30, 9, 0)),
        ("Next Week", datetime(2026, 11, 30, 9, 0)),
        ("на следующей неделе", datetime(2026, 11, 30, 9, 0)),
        ("следующая неделя", datetime(2026, 11, 30, 9, 0)),
        ("след неделя", datetime(2026, 11, 30, 9, 0)),
        ("след. неделя", datetime(2026, 11, 30, 9, 0)),
        ("на след неделе", datetime(2026, 11, 30, 9, 0)),
        ("next week 10:00", datetime(2026, 11, 30, 10, 0)),
        ("на следующей неделе в 10:00", datetime(2026, 11, 30, 10, 0)),
        # weekdays, English
        ("monday", datetime(2026, 11, 30, 9, 0)),
        ("mon", datetime(2026, 11, 30, 9, 0)),
        ("Tuesday", datetime(2026, 12, 1, 9, 0)),
        ("tue", datetime(2026, 12, 1, 9, 0)),
        ("wednesday", datetime(2026, 12, 2, 9, 0)),
        ("wed", datetime(2026, 12, 2, 9, 0)),
        ("thursday", datetime(2026, 12, 3, 9, 0)),
        ("thu", datetime(2026, 12, 3, 9, 0)),
        ("friday", datetime(2026, 12, 4, 9, 0)),
        ("fri", datetime(2026, 12, 4, 9, 0)),
        ("next friday", datetime(2026, 12, 4, 9, 0)),
        ("saturday", datetime(2026, 11, 28, 9, 0)),
        ("sat", datetime(2026, 11, 28, 9, 0)),
        ("sunday", datetime(2026, 11, 29, 9, 0)),
        ("sun", datetime(2026, 11, 29, 9, 0)),
        ("on monday", datetime(2026, 11, 30, 9, 0)),
        ("monday at 10:00", datetime(2026, 11, 30, 10, 0)),
        ("next friday 17:30", datetime(2026, 12, 4, 17, 30)),
        # weekdays, Russian
        ("понедельник", datetime(2026, 11, 30, 9, 0)),
        ("пн", datetime(2026, 11, 30, 9, 0)),
        ("в понедельник", datetime(2026, 11, 30, 9, 0)),
        ("вторник", datetime(2026, 12, 1, 9, 0)),
        ("во вторник", datetime(2026, 12, 1, 9, 0)),
        ("вт", datetime(2026, 12, 1, 9, 0)),
        ("среда", datetime(2026, 12, 2, 9, 0)),
        ("в среду", datetime(2026, 12, 2, 9, 0)),
        ("ср", datetime(2026, 12, 2, 9, 0)),
        ("четверг", datetime(2026, 12, 3, 9, 0)),
        ("чт", datetime(2026, 12, 3, 9, 0)),
        ("пятница", datetime(2026, 12, 4, 9, 0)),
        ("в пятницу", datetime(2026, 12, 4, 9, 0)),
        ("пт", datetime(2026, 12, 4, 9, 0)),
        ("Пт.", datetime(2026, 12, 4, 9, 0)),
        ("в следующую пятницу", datetime(2026, 12, 4, 9, 0)),
        ("суббота", datetime(2026, 11, 28, 9, 0)),
        ("в субботу", datetime(2026, 11, 28, 9, 0)),
        ("сб", datetime(2026, 11, 28, 9, 0)),
        ("воскресенье", datetime(2026, 11, 29, 9, 0)),
        ("в воскресенье", datetime(2026, 11, 29, 9, 0)),
        ("вс", datetime(2026, 11, 29, 9, 0)),
        ("в пятницу в 10:00", datetime(2026, 12, 4, 10, 0)),
        ("пт 10:00", datetime(2026, 12, 4, 10, 0)),
        ("в понедельник в 09:15", datetime(2026, 11, 30, 9, 15)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31.12.2026", datetime(2026, 12, 31, 0, 0)),
        ("завтра", datetime(2026, 11, 28, 0, 0)),
        ("tomorrow", datetime(2026, 11, 28, 0, 0)),
        ("пт", datetime(2026, 12, 4, 0, 0)),
        ("+3d", datetime(2026, 11, 30, 0, 0)),
        ("next week", datetime(2026, 11, 30, 0, 0)),
        ("завтра в 10:00", datetime(2026, 11, 28, 10, 0)),
        ("+1h", datetime(2026, 11, 27, 15, 35)),
    ],
)
def test_parse_when_without_time(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW, want_time=False) == expected


def test_weekday_today_means_next_week() -> None:
    monday = datetime(2026, 11, 30, 8, 0)
    assert parse_when("monday", monday) == datetime(2026, 12, 7, 9, 0)
    assert parse_when("пн", monday) == datetime(2026, 12, 7, 9, 0)
    assert parse_when("вторник", monday) == datetime(2026, 12, 1, 9, 0)
    assert parse_when("next week", monday) == datetime(2026, 12, 7, 9, 0)


def test_sunday_next_week() -> None:
    sunday = datetime(2026, 11, 29, 23, 0)
    assert parse_when("на следующей неделе", sunday) == datetime(2026, 11, 30, 9, 0)
    assert parse_when("вс", sunday) == datetime(2026, 12, 6, 9, 0)


def test_month_offset_clamps_to_month_end() -> None:
    assert parse_when("+1mo", datetime(2027, 1, 31, 12, 0)) == datetime(2027, 2, 28, 9, 0)


def test_hour_offset_drops_seconds() -> None:
    result = parse_when("+1h", datetime(2026, 11, 27, 23, 59, 59, 999999))
    assert result == datetime(2026, 11, 28, 0, 59)
    assert result.second == 0 and result.microsecond == 0


def test_default_now_is_current_time() -> None:
    before = datetime.now().date()
    result = parse_when("сегодня")
    assert result.date() in {before, datetime.now().date()}
    assert (result.hour, result.minute) == (9, 0)


def test_result_is_naive() -> None:
    assert parse_when("завтра в 10:00", NOW).tzinfo is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31.12.2026", date(2026, 12, 31)),
        ("31.12", date(2026, 12, 31)),
        ("завтра", date(2026, 11, 28)),
        ("tomorrow 10:00", date(2026, 11, 28)),
        ("пт", date(2026, 12, 4)),
        ("через неделю", date(2026, 12, 4)),
        ("2026-02-28", date(2026, 2, 28)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


def test_parse_date_default_today() -> None:
    assert parse_date("31.12.2026") == date(2026, 12, 31)


BAD = [
    "",
    "   ",
    "31.02.2026",
    "29.02.2027",
    "32.01.2026",
    "00.01.2026",
    "2026-13-01",
    "2026-00-10",
    "31.12.0000",
    "25:00",
    "24:00",
    "10:60",
    "завтра в 25:00",
    "10.30",
    "12:5",
    "10:00:00",
    "garbage",
    "завтра в",
    "tomorrow at",
    "завтраа",
    "31.12.2026 garbage",
    "garbage 10:00",
    "tomorrow10:00",
    "31.12.026",
    "+3",
    "+d",
    "+3x",
    "+3mon",
    "+99999999999d",
    "через",
    "через много дней",
    "in many days",
    "next",
    "пт пт",
    "+2h 10:00",
    "now 10:00",
    "31 smarch",
    "friday the 13th",
]


@pytest.mark.parametrize("text", BAD)
def test_parse_when_rejects(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_when(text, NOW)


@pytest.mark.parametrize("text", BAD)
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text, TODAY)


def test_error_is_value_error() -> None:
    assert issubclass(DateParseError, ValueError)


def test_error_messages_english(language: None) -> None:
    set_language("en")
    with pytest.raises(DateParseError) as info:
        parse_when("garbage", NOW)
    assert str(info.value) == "Unknown date: garbage"
    assert info.value.text == "garbage"
    with pytest.raises(DateParseError, match=r"^Invalid date: 31\.02\.2026$"):
        parse_when("31.02.2026", NOW)
    with pytest.raises(DateParseError, match=r"^Invalid time: 25:00$"):
        parse_when("25:00", NOW)
    with pytest.raises(DateParseError, match=r"^Date is empty$"):
        parse_when("", NOW)
    with pytest.raises(DateParseError, match=r"^Date is out of range: \+99999999999d$"):
        parse_when("+99999999999d", NOW)


def test_error_message_is_one_line(language: None) -> None:
    set_language("en")
    with pytest.raises(DateParseError) as info:
        parse_when("foo\nbar", NOW)
    assert str(info.value) == "Unknown date: foo bar"


def test_error_messages_russian(language: None) -> None:
    set_language("ru")
    with pytest.raises(DateParseError) as info:
        parse_when("ерунда", NOW)
    assert str(info.value) == "Неизвестная дата: ерунда"
    with pytest.raises(DateParseError, match=r"^Несуществующая дата: 31\.02\.2026$"):
        parse_when("31.02.2026", NOW)
    with pytest.raises(DateParseError, match=r"^Неверное время: 25:00$"):
        parse_when("25:00", NOW)
    with pytest.raises(DateParseError, match=r"^Дата не указана$"):
        parse_when(" ", NOW)


def test_messages_are_translated() -> None:
    from tui_crm.i18n import catalog

    ru = catalog("ru")
    for msgid in (
        "Unknown date: {text}",
        "Invalid date: {text}",
        "Invalid time: {text}",
        "Date is empty",
        "Date is out of range: {text}",
    ):
        assert "{text}" not in msgid or "{text}" in ru[msgid]
        assert ru[msgid] != msgid


def test_format_date() -> None:
    d = date(2026, 12, 31)
    assert format_date(d, "ru") == "31.12.2026"
    assert format_date(d, "en") == "2026-12-31"
    assert format_date(date(2027, 1, 5), "ru") == "05.01.2027"
    assert format_date(date(2027, 1, 5), "en") == "2027-01-05"
    assert format_date(datetime(2026, 12, 31, 10, 0), "ru") == "31.12.2026"


def test_format_datetime() -> None:
    dt = datetime(2026, 12, 31, 10, 0, 42)
    assert format_datetime(dt, "ru") == "31.12.2026 10:00"
    assert format_datetime(dt, "en") == "2026-12-31 10:00"
    assert format_datetime(datetime(2027, 1, 5, 7, 5), "ru") == "05.01.2027 07:05"


def test_format_uses_current_language(language: None) -> None:
    set_language("ru")
    assert format_date(date(2026, 12, 31)) == "31.12.2026"
    assert format_datetime(datetime(2026, 12, 31, 10, 0)) == "31.12.2026 10:00"
    set_language("en")
    assert format_date(date(2026, 12, 31)) == "2026-12-31"
    assert format_datetime(datetime(2026, 12, 31, 10, 0)) == "2026-12-31 10:00"


def test_format_round_trips() -> None:
    dt = datetime(2026, 3, 8, 16, 20)
    for lang in ("ru", "en"):
        assert parse_when(format_datetime(dt, lang), NOW) == dt
        assert parse_date(format_date(dt.date(), lang), TODAY) == dt.date()


@pytest.mark.parametrize(
    ("birthday", "today", "expected"),
    [
        (date(1990, 11, 27), date(2026, 11, 27), 36),
        (date(1990, 11, 28), date(2026, 11, 27), 35),
        (date(1990, 11, 26), date(2026, 11, 27), 36),
        (date(1990, 12, 31), date(2026, 1, 1), 35),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2000, 2, 29), date(2028, 2, 29), 28),
        (date(2026, 11, 27), date(2026, 11, 27), 0),
    ],
)
def test_age(birthday: date, today: date, expected: int) -> None:
    assert age(birthday, today) == expected


def test_default_time_constant() -> None:
    assert (dates.DEFAULT_TIME.hour, dates.DEFAULT_TIME.minute) == (9, 0)
