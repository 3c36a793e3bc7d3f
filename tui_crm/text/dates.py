"""Natural date and time parsing shared by forms and the command line.

Understands English and Russian, case-insensitively:

* dates: ``31.12.2026``, ``31.12.26``, ``31.12`` (this year), ``31/12/2026``, ``2026-12-31``,
  ``31 декабря``, ``31 dec 2026``;
* words: ``today``/``сегодня``, ``tomorrow``/``завтра``, ``day after tomorrow``/``послезавтра``,
  ``yesterday``/``вчера``, ``now``/``сейчас``;
* offsets: ``+3d``, ``+2w``, ``+1h``, ``+30m``/``+30min``, ``+1mo``, ``+1y``, ``+3д``, ``+2н``,
  ``+1ч``, ``in 3 days``, ``через 2 часа``, ``через неделю``;
* ``next week``/``на следующей неделе``/``след неделя`` (Monday of next week);
* weekdays: ``friday``, ``fri``, ``next friday``, ``пятница``, ``в пятницу``, ``пт``
  (the next such day strictly after today);

each optionally followed by a time ``10:00``, ``в 10:00`` or ``at 10:00`` (ISO ``T10:00`` too);
a bare ``10:00`` is today at that time. Every datetime is naive local time.

A two-digit year (``31.12.26``) is read in one of two ways:

* for a date that lies in the past by its nature (a birthday: a field with
  ``FieldSpec.past_only``, parsed with ``past=True``), as the nearest such date not after
  today: ``12.05.85`` is 1985-05-12, never 2085;
* for any other date (a deadline, a payment, a planned call), as 20YY: ``31.12.26`` is
  2026-12-31.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from tui_crm.i18n import N_, _, get_language
from tui_crm.text.names import normalize_text
from tui_crm.text.oneline import one_line

DEFAULT_TIME = time(9, 0)
"""The time given to a date-only input when a time is wanted."""

_SHOWN_MAX = 40


# Dates a user or a file may give: wide enough for any birthday or plan, and far enough
# from the calendar's ends (years 1 and 9999) that a day, a week or a year added or taken
# for a view, a reminder or a repeat never overflows.
FIRST_YEAR, LAST_YEAR = 1000, 8999

NO_YEAR = 1604
"""The year a date known by its day and month alone (a birthday without a year) is stored
with: a date column keeps working (sorting, "birthdays on this day" in SQL), Apple's
Contacts writes the same placeholder, it is a leap year (29 February fits) and nobody alive
was born in it. Such a date is shown without a year and without an age."""

_DAY_MONTH = re.compile(r"^\s*(?:--\s*(\d{2})-?(\d{2})|(\d{1,2})[./](\d{1,2})\.?)\s*$")


class DateParseError(ValueError):
    """Text that is not a date or time; the message is translated and names the text."""

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text


# --- vocabulary -----------------------------------------------------------------------------

_DAY_WORDS: dict[str, int] = {
    "today": 0,
    "сегодня": 0,
    "tomorrow": 1,
    "завтра": 1,
    "day after tomorrow": 2,
    "the day after tomorrow": 2,
    "послезавтра": 2,
    "yesterday": -1,
    "вчера": -1,
    "day before yesterday": -2,
    "the day before yesterday": -2,
    "позавчера": -2,
}

_NOW_WORDS = frozenset({"now", "right now", "сейчас"})

_WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("monday", "mon", "понедельник", "пн", "пон"),
        ("tuesday", "tue", "tues", "вторник", "вт"),
        ("wednesday", "wed", "среда", "среду", "ср"),
        ("thursday", "thu", "thur", "thurs", "четверг", "чт"),
        ("friday", "fri", "пятница", "пятницу", "пт"),
        ("saturday", "sat", "суббота", "субботу", "сб"),
        ("sunday", "sun", "воскресенье", "вс"),
    )
):
    for _name in _names:
        _WEEKDAYS[_name] = _index

_MONTHS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("january", "jan", "января", "январь", "янв"),
        ("february", "feb", "февраля", "февраль", "фев"),
        ("march", "mar", "марта", "март", "мар"),
        ("april", "apr", "апреля", "апрель", "апр"),
        ("may", "мая", "май"),
        ("june", "jun", "июня", "июнь", "июн"),
        ("july", "jul", "июля", "июль", "июл"),
        ("august", "aug", "августа", "август", "авг"),
        ("september", "sep", "sept", "сентября", "сентябрь", "сен", "сент"),
        ("october", "oct", "октября", "октябрь", "окт"),
        ("november", "nov", "ноября", "ноябрь", "ноя"),
        ("december", "dec", "декабря", "декабрь", "дек"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _index

_UNITS: dict[str, str] = {}
for _unit, _names in (
    (
        "minutes",
        ("m", "min", "mins", "minute", "minutes", "мин", "минута", "минуты", "минут", "минуту"),
    ),
    ("hours", ("h", "hr", "hrs", "hour", "hours", "ч", "час", "часа", "часов")),
    ("days", ("d", "day", "days", "д", "дн", "день", "дня", "дней")),
    (
        "weeks",
        ("w", "wk", "wks", "week", "weeks", "н", "нед", "неделя", "недели", "недель", "неделю"),
    ),
    ("months", ("mo", "mos", "month", "months", "мес", "месяц", "месяца", "месяцев")),
    ("years", ("y", "yr", "yrs", "year", "years", "г", "год", "года", "лет")),
):
    for _name in _names:
        _UNITS[_name] = _unit
del _index, _names, _name, _unit

_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "один": 1, "одна": 1, "одну": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
}  # fmt: skip

# --- patterns (applied to casefolded text with collapsed whitespace) -------------------------

_TIME_RE = re.compile(
    r"^(?P<rest>.*?)(?:(?:^|,?\s+)(?:(?:в|во|at)\s+)?|(?<=\d)t)(?P<h>\d{1,2}):(?P<m>\d{2})$"
)
_DMY_RE = re.compile(
    r"^(?P<d>\d{1,2})(?P<sep>[./])(?P<m>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?\.?$"
)
_ISO_RE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")
_NAMED_MONTH_RE = re.compile(
    r"^(?P<d>\d{1,2})\s+(?P<month>[a-zа-я]+)\.?(?:\s+(?P<y>\d{4})(?:\s*(?:г|года?)\.?)?)?$"
)
_COMPACT_OFFSET_RE = re.compile(r"^(?P<sign>[+-])\s*(?P<n>\d+)\s*(?P<unit>[a-zа-я]+)\.?$")
_WORDY_OFFSET_RE = re.compile(r"^(?:через|in)\s+(?:(?P<n>[0-9a-zа-я]+)\s+)?(?P<unit>[a-zа-я]+)$")
_NEXT_WEEK_RE = re.compile(
    r"^(?:next\s+week|(?:на\s+)?(?:следующ(?:ей|ая|ую)|след\.?)\s+недел[еяю])$"
)
_WEEKDAY_RE = re.compile(
    r"^(?:(?:on|next|в|во|(?:в\s+|во\s+)?(?:следующ(?:ий|ую|ее|ая)|след\.?))\s+)?"
    r"(?P<name>[a-zа-я]+)\.?$"
)


def _shown(text: str) -> str:
    """The text as one short line, for an error message."""
    return one_line(text, _SHOWN_MAX)


def _unknown(source: str) -> DateParseError:
    return DateParseError(_("Unknown date: {text}").format(text=_shown(source)), source)


def _split_time(norm: str, source: str) -> tuple[str, time | None]:
    """Split a trailing ``HH:MM`` (with ``в``/``at``/``T``) off the text."""
    match = _TIME_RE.match(norm)
    if match is None:
        return norm, None
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        raise DateParseError(_("Invalid time: {text}").format(text=_shown(source)), source)
    return match["rest"].strip(), time(hour, minute)


def _make_date(year: int, month: int, day: int, source: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateParseError(
            _("Invalid date: {text}").format(text=_shown(source)), source
        ) from None


def _offset(now: datetime, amount: int, unit: str) -> date | datetime:
    """``now`` moved by ``amount`` units: a datetime for hours/minutes, else a date."""
    if unit == "minutes":
        return now.replace(second=0, microsecond=0) + timedelta(minutes=amount)
    if unit == "hours":
        return now.replace(second=0, microsecond=0) + timedelta(hours=amount)
    if unit == "days":
        return now.date() + timedelta(days=amount)
    if unit == "weeks":
        return now.date() + timedelta(weeks=amount)
    if unit == "months":
        return now.date() + relativedelta(months=amount)
    return now.date() + relativedelta(years=amount)


def _two_digit_year(yy: int, month: int, day: int, today: date, past: bool,
                    source: str) -> date:
    """The date of ``DD.MM.YY``: 20YY, or with `past` the nearest such date not after today."""
    if not past:
        return _make_date(2000 + yy, month, day, source)
    year = today.year - today.year % 100 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return _make_date(year, month, day, source)


def _parse_day(rest: str, now: datetime, source: str,
               past: bool = False) -> date | datetime | None:
    """The day (or exact moment) named by the text without its time; None if unknown."""
    today = now.date()
    if not rest:
        return today
    if rest in _DAY_WORDS:
        return today + timedelta(days=_DAY_WORDS[rest])
    if rest in _NOW_WORDS:
        return now.replace(second=0, microsecond=0)

    if match := _DMY_RE.match(rest):
        if match["y"] is not None and len(match["y"]) == 2:
            return _two_digit_year(int(match["y"]), int(match["m"]), int(match["d"]), today,
                                   past, source)
        year = int(match["y"]) if match["y"] is not None else today.year
        return _make_date(year, int(match["m"]), int(match["d"]), source)
    if match := _ISO_RE.match(rest):
        return _make_date(int(match["y"]), int(match["m"]), int(match["d"]), source)
    if (match := _NAMED_MONTH_RE.match(rest)) and match["month"] in _MONTHS:
        year = int(match["y"]) if match["y"] else today.year
        return _make_date(year, _MONTHS[match["month"]], int(match["d"]), source)

    if (match := _COMPACT_OFFSET_RE.match(rest)) and match["unit"] in _UNITS:
        amount = int(match["n"]) * (-1 if match["sign"] == "-" else 1)
        return _offset(now, amount, _UNITS[match["unit"]])
    if (match := _WORDY_OFFSET_RE.match(rest)) and match["unit"] in _UNITS:
        word = match["n"]
        if word is None:
            amount = 1
        elif word.isdigit():
            amount = int(word)
        elif word in _NUMBER_WORDS:
            amount = _NUMBER_WORDS[word]
        else:
            return None
        return _offset(now, amount, _UNITS[match["unit"]])

    if _NEXT_WEEK_RE.match(rest):
        return today + timedelta(days=7 - today.weekday())
    if (match := _WEEKDAY_RE.match(rest)) and match["name"] in _WEEKDAYS:
        ahead = (_WEEKDAYS[match["name"]] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return None


def parse_when(text: str, now: datetime | None = None, *, want_time: bool = True,
               past: bool = False) -> datetime:
    """Parse a natural date/time in English or Russian into a naive local datetime.

    Date-only input gets 09:00 when ``want_time`` is true and midnight otherwise; ``+Nh`` and
    ``+Nm`` keep the current time (seconds dropped). `past`: see the two-digit year in the
    module's description. Raises DateParseError on anything else.
    """
    source = text if isinstance(text, str) else ""
    norm = normalize_text(source)
    if not norm:
        raise DateParseError(_("Date is empty"), source)
    if now is None:
        now = datetime.now()
    rest, clock = _split_time(norm, source)
    try:
        day = _parse_day(rest, now, source, past)
    except DateParseError:
        raise
    except (OverflowError, ValueError):
        raise DateParseError(
            _("Date is out of range: {text}").format(text=_shown(source)), source
        ) from None
    if day is None:
        raise _unknown(source)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise DateParseError(
            _("Date is out of range: {text}").format(text=_shown(source)), source)
    if isinstance(day, datetime):
        if clock is not None:  # "+2h 10:00", "now 10:00": contradictory
            raise _unknown(source)
        return day
    if clock is None:
        clock = DEFAULT_TIME if want_time else time(0, 0)
    return datetime.combine(day, clock)


def check_year(value: date) -> date:
    """A date (or datetime) already typed, e.g. a spreadsheet's cell, within the years
    parse_when accepts; DateParseError otherwise."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise DateParseError(
            _("Date is out of range: {text}").format(text=value.isoformat()), value.isoformat())
    return value


def parse_date(text: str, today: date | None = None, *, past: bool = False) -> date:
    """Parse a natural date (see parse_when); any time in the text is ignored. `past`: the
    date lies in the past by its nature (a birthday), see the module's description; such a
    date given by day and month alone ("08.03", "--0308") has no year (NO_YEAR)."""
    if past and (no_year := day_month(text)) is not None:
        return no_year
    now = datetime.combine(today, time(0, 0)) if today is not None else None
    return parse_when(text, now, want_time=False, past=past).date()


def has_year(d: date) -> bool:
    """Whether a stored date has a year (see NO_YEAR)."""
    return d.year != NO_YEAR


def day_month(text: str) -> date | None:
    """A day and month without a year — ``08.03``, ``8/3``, ``--0308``, ``--03-08`` (vCard,
    ISO 8601) — as a NO_YEAR date; None for any other text. Day first, as Russians write."""
    found = _DAY_MONTH.match(text)
    if found is None:
        return None
    if found.group(1):
        month, day = int(found.group(1)), int(found.group(2))
    else:
        day, month = int(found.group(3)), int(found.group(4))
    try:
        return date(NO_YEAR, month, day)
    except ValueError:
        raise DateParseError(_("No such day: {text}").format(text=_shown(text)), text) from None


def format_date(d: date, language: str | None = None) -> str:
    """``31.12.2026`` in Russian, ``2026-12-31`` otherwise (default: the current language);
    a date without a year (NO_YEAR) as ``31.12`` and ``--12-31``."""
    if d.year == NO_YEAR:
        if (language or get_language()) == "ru":
            return f"{d.day:02d}.{d.month:02d}"
        return f"--{d.month:02d}-{d.day:02d}"
    if (language or get_language()) == "ru":
        return f"{d.day:02d}.{d.month:02d}.{d.year:04d}"
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def format_datetime(dt: datetime, language: str | None = None) -> str:
    """``31.12.2026 10:00`` in Russian, ``2026-12-31 10:00`` otherwise."""
    if (language or get_language()) == "ru":
        day = f"{dt.day:02d}.{dt.month:02d}.{dt.year:04d}"
    else:
        day = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
    return f"{day} {dt.hour:02d}:{dt.minute:02d}"


_WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def weekday_name(d: date) -> str:
    """The short weekday name in the current language (``Fri``, ``Пт``)."""
    return _(_WEEKDAY_NAMES[d.weekday()])


def age(birthday: date, today: date | None = None) -> int | None:
    """Full years from ``birthday`` to ``today`` (a 29 February birthday counts from 1 March);
    None for a birthday after today (one stored before two-digit years were read as past
    ones) and for one without a year (NO_YEAR), never a negative age."""
    if birthday.year == NO_YEAR:
        return None
    if today is None:
        today = date.today()
    if birthday > today:
        return None
    years = today.year - birthday.year
    if (today.month, today.day) < (birthday.month, birthday.day):
        years -= 1
    return years
