"""Repeat rules of events (one RFC 5545 RRULE, read by dateutil) and their bounded expansion.

What may be saved (`check`): one RRULE line; occurrences at least a minute apart (no
FREQ=SECONDLY, at most one BYSECOND value); COUNT up to MAX_COUNT, or UNTIL; INTERVAL up to
MAX_INTERVAL; a rule that gives a date at all. A stored rule that does not pass the check
(saved before it existed, or damaged) is not run: its event occurs once, at its start.

Expansion does work in proportion to the range asked for, never to the age of the series
or to what the rule asks for:
- dateutil iterates from DTSTART, so a rule without COUNT is restarted at the period (year,
  month, week, day, hour or minute, times INTERVAL) that holds the range's start, with the
  parts DTSTART used to imply written out, so the occurrences stay the same;
- a rule whose filters never match (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) makes dateutil step
  period by period up to the year 9999. The Gregorian calendar repeats exactly every 400
  years (146 097 days, whole weeks), so the rule is evaluated 400·k years later, in the
  cycle that still leaves room for the range before 9999, where such a search ends after
  about 400 years of periods (a few tenths of a second) instead of 8 000;
- at most MAX_STEPS candidates are taken from dateutil and at most MAX_OCCURRENCES returned.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterator
from typing import Any

from dateutil.rrule import (
    DAILY,
    HOURLY,
    MINUTELY,
    MONTHLY,
    SECONDLY,
    WEEKLY,
    YEARLY,
    rrule,
    rrulestr,
)

from tui_crm.i18n import _

MAX_OCCURRENCES = 2000  # per series and range: more than a day of one-minute repeats
MAX_STEPS = 50_000  # candidates read from dateutil for one range (thinning included)
MAX_COUNT = 10_000  # COUNT is counted from DTSTART, so it cannot be restarted near the range
MAX_INTERVAL = 10_000
CYCLE_YEARS = 400  # the Gregorian calendar, weekdays included, repeats after 400 years
CYCLE = dt.timedelta(days=146_097)  # the same 400 years: whole weeks
_DAY_PARTS = ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYEASTER")


class RuleProblem(ValueError):
    """A repeat rule that cannot be saved; the message says why (translated)."""


def _parts(rule: str) -> dict[str, str]:
    """NAME → value of a one-line rule (`FREQ=WEEKLY;BYDAY=MO`, `RRULE:` allowed)."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:"):]
    if not text or "\n" in text or "\r" in text or ":" in text:
        raise RuleProblem(_("Give one rule such as FREQ=WEEKLY;BYDAY=MO (no DTSTART, EXDATE "
                            "or other lines)"))
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, sep, value = item.partition("=")
        if not sep:
            raise RuleProblem(_("Expected NAME=VALUE, got {text!r}").format(text=item))
        parts[name.strip().upper()] = value.strip()
    return parts


def _parse(rule: str, dtstart: dt.datetime) -> tuple[rrule, dict[str, str]]:
    """The rule read by dateutil, with its parts; RuleProblem for anything we do not run."""
    parts = _parts(rule)
    if "BYEASTER" in parts:  # not RFC 5545, and Easter does not repeat every 400 years
        raise RuleProblem(_("BYEASTER is not supported"))
    if "COUNT" in parts and "UNTIL" in parts:  # RFC 5545 forbids it; dateutil warns
        raise RuleProblem(_("Give COUNT or UNTIL, not both"))
    try:
        parsed = rrulestr(rule.strip(), dtstart=dtstart.replace(microsecond=0), ignoretz=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RuleProblem(_("Not a valid repeat rule: {reason}").format(reason=exc)) from None
    if not isinstance(parsed, rrule):
        raise RuleProblem(_("Give one rule such as FREQ=WEEKLY;BYDAY=MO (no DTSTART, EXDATE "
                            "or other lines)"))
    if not 1 <= _rule_value(parsed, "interval") <= MAX_INTERVAL:
        raise RuleProblem(_("INTERVAL must be from 1 to {n}").format(n=MAX_INTERVAL))
    return parsed, parts


def _rule_value(parsed: rrule, name: str) -> Any:
    """One part of a parsed rule (freq, interval, count, until, wkst, bysecond): dateutil
    keeps them only in private attributes, with no public accessor."""
    return vars(parsed)["_" + name]


def _sub_minute(parsed: rrule) -> bool:
    """Two occurrences could fall in the same minute."""
    return _rule_value(parsed, "freq") == SECONDLY or len(_rule_value(parsed, "bysecond") or ()) > 1


def check(rule: str, dtstart: dt.datetime) -> None:
    """Refuse a rule that cannot be saved (RuleProblem with a one-line message): not one
    valid RRULE, more often than once a minute, a COUNT beyond MAX_COUNT, or a rule that
    gives no date in the 400 years after its start (after which the calendar repeats)."""
    dtstart = dtstart.replace(microsecond=0)
    parsed, parts = _parse(rule, dtstart)
    if _sub_minute(parsed):
        raise RuleProblem(_("A rule may repeat at most once a minute (no FREQ=SECONDLY, at "
                            "most one BYSECOND)"))
    if _rule_value(parsed, "count") is not None and not 1 <= _rule_value(parsed, "count") <= MAX_COUNT:
        raise RuleProblem(_("COUNT must be from 1 to {n}; for a longer series give an end "
                            "date (UNTIL)").format(n=MAX_COUNT))
    last = dt.datetime(dt.MAXYEAR - 2, 1, 1)
    horizon = dtstart + CYCLE if dtstart < last - CYCLE else last
    if not _occurrences(parsed, parts, dtstart, dtstart, horizon, 1):
        raise RuleProblem(_("The rule gives no date in the 400 years after the start"))


@functools.lru_cache(maxsize=1024)
def _runnable(rule: str, dtstart: dt.datetime) -> tuple[rrule, dict[str, str]] | None:
    """A stored rule read once per process, if it passes today's check (rules saved before
    the check, or damaged, are not run: the event keeps its own time)."""
    try:
        check(rule, dtstart)
    except RuleProblem:
        return None
    return _parse(rule, dtstart)


def allowed(rule: str, dtstart: dt.datetime) -> bool:
    """Whether a stored rule passes today's check (an export may pass it on as it is)."""
    return _runnable(rule.strip(), dtstart.replace(microsecond=0)) is not None


# --- expansion ----------------------------------------------------------------------------------


def _implied(parsed: rrule, parts: dict[str, str], dtstart: dt.datetime) -> dict[str, object]:
    """The parts DTSTART implies (RFC 5545 §3.3.10), written out so that a later DTSTART
    gives the same occurrences."""
    out: dict[str, object] = {}
    freq = _rule_value(parsed, "freq")
    if not any(name in parts for name in _DAY_PARTS):
        if freq == YEARLY:
            if "BYMONTH" not in parts:
                out["bymonth"] = dtstart.month
            out["bymonthday"] = dtstart.day
        elif freq == MONTHLY:
            out["bymonthday"] = dtstart.day
        elif freq == WEEKLY:
            out["byweekday"] = dtstart.weekday()
    if freq < HOURLY and "BYHOUR" not in parts:
        out["byhour"] = dtstart.hour
    if freq < MINUTELY and "BYMINUTE" not in parts:
        out["byminute"] = dtstart.minute
    if freq < SECONDLY and "BYSECOND" not in parts:
        out["bysecond"] = dtstart.second
    return out


def _restart(parsed: rrule, dtstart: dt.datetime, start: dt.datetime) -> dt.datetime:
    """The beginning of the last period of the series (every INTERVAL-th year, month, week,
    day, hour or minute from DTSTART's) that begins at or before `start`."""
    freq, step = _rule_value(parsed, "freq"), _rule_value(parsed, "interval")
    if freq in (YEARLY, MONTHLY):
        months = 12 if freq == YEARLY else 1
        first = dtstart.year * 12 + (dtstart.month - 1 if freq == MONTHLY else 0)
        wanted = start.year * 12 + start.month - 1
        k = (wanted - first) // (months * step)
        index = first + k * months * step
        return dt.datetime(index // 12, index % 12 + 1, 1)
    if freq == WEEKLY:
        origin = dt.datetime.combine(dtstart.date(), dt.time())
        origin -= dt.timedelta(days=(dtstart.weekday() - _rule_value(parsed, "wkst")) % 7)
        length = dt.timedelta(weeks=step)
    elif freq == DAILY:
        origin = dt.datetime.combine(dtstart.date(), dt.time())
        length = dt.timedelta(days=step)
    elif freq == HOURLY:
        origin = dtstart.replace(minute=0, second=0)
        length = dt.timedelta(hours=step)
    elif freq == MINUTELY:
        origin = dtstart.replace(second=0)
        length = dt.timedelta(minutes=step)
    else:
        origin, length = dtstart, dt.timedelta(seconds=step)
    return origin + length * ((start - origin) // length)


def _shift(moment: dt.datetime | None, years: int) -> dt.datetime | None:
    """`moment` so many years later; None past the year 9999 (for UNTIL: no bound)."""
    if moment is None or moment.year + years > dt.MAXYEAR:
        return None
    return moment.replace(year=moment.year + years)


def _candidates(parsed: rrule, parts: dict[str, str], dtstart: dt.datetime,
                start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    """dateutil's occurrences from about `start` up to `end`, in the original years."""
    first = dtstart
    kwargs: dict[str, Any] = {}
    if _rule_value(parsed, "count") is None and start > dtstart:
        restart = _restart(parsed, dtstart, start)
        if restart > dtstart:
            first = restart
            kwargs.update(_implied(parsed, parts, dtstart))
    until = _rule_value(parsed, "until")
    if _rule_value(parsed, "count") is None:  # dateutil refuses COUNT and UNTIL together
        until = end if until is None else min(until, end)
    # As late as the range still fits before the year 9999 (two years to spare).
    latest = dt.MAXYEAR - (end.year - first.year + 2)
    years = max(0, (latest - first.year) // CYCLE_YEARS * CYCLE_YEARS)
    moved_first = _shift(first, years)
    if moved_first is None:
        return iter(())
    try:
        runner = parsed.replace(dtstart=moved_first, until=_shift(until, years), **kwargs)
    except (ValueError, TypeError, OverflowError):
        return iter(())
    return (t.replace(year=t.year - years) for t in runner)


def between(rule: str, dtstart: dt.datetime, start: dt.datetime, end: dt.datetime, *,
            limit: int = MAX_OCCURRENCES) -> list[dt.datetime]:
    """Occurrences of `rule` (from `dtstart`) in [start, end), at most `limit` of them.
    Naive wall-clock times, so a 10:00 call stays at 10:00 across daylight-saving changes.
    A rule that does not pass `check` repeats nothing: its event occurs once, at `dtstart`."""
    if end <= start:
        return []
    dtstart = dtstart.replace(microsecond=0)
    runnable = _runnable(rule.strip(), dtstart)
    if runnable is None:
        return [dtstart] if start <= dtstart < end else []
    parsed, parts = runnable
    return _occurrences(parsed, parts, dtstart, start, end, limit)


def _occurrences(parsed: rrule, parts: dict[str, str], dtstart: dt.datetime,
                 start: dt.datetime, end: dt.datetime, limit: int) -> list[dt.datetime]:
    if _rule_value(parsed, "until") is not None and _rule_value(parsed, "until") < start:
        return []  # ended before the range (a rule that never matches would search on)
    found: list[dt.datetime] = []
    try:
        for t in itertools.islice(_candidates(parsed, parts, dtstart, start, end), MAX_STEPS):
            if t >= end:
                break
            if t >= start:
                found.append(t)
                if len(found) >= limit:
                    break
    except (ValueError, OverflowError):
        pass  # dateutil found the rule empty on the way ("invalid combination …")
    return found
