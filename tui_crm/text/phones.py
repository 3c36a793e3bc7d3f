"""Phone numbers: the one rule for reading, storing, showing and finding them.

`parse_phone(text, region)` serves the form, the command line, the importer, duplicate
matching, search and the demo alike. It never raises and gives a `Phone`:

* `normalized`, what is stored and matched: E.164 (`+74951112233`), with an extension as an
  RFC 3966 parameter (`+74951112233;ext=123`), ASCII digits only. An invalid number keeps
  its digits (ASCII) and `valid` is false.
* `shown`, what everyone sees: the international form (`+7 495 111-22-33`) with an extension
  as ` доб. 123` when the team's phone region is RU and ` ext. 123` for any other region.
  It is stored once per phone, so every member of a team sees the same text whatever the
  language of their screens. An invalid number is shown as it was typed.
* `extension`, the extension's digits or "".

How a text is read:

1. Every Unicode decimal digit (fullwidth `１`, Arabic-Indic `١`, …) becomes its ASCII digit,
   as phonenumbers itself reads digits; the word `добавочный` is read as `доб.`.
2. phonenumbers decides, in the team's region (the `phone_region` setting, RU by default);
   a number it calls valid whose E.164 form it reads back as another number (Belarus's
   `8 810 …`) is kept as typed, not valid: what is stored always reads back to itself.
   Extensions are what phonenumbers recognises: `доб.`, `доб`, `ext.`, `ext`, `x`, `#`, a
   comma, `;ext=`.
3. A number typed without `+` that is not valid in the region (a foreign number written
   without its +): with 11 digits (the extension aside) beginning with 8 it is read as +7 and
   the other ten digits; otherwise, with 11 digits or more, as if a + were typed before it
   (`375291234567` → `+375 29 123-45-67`).

A plain Russian number, the bulk of every import, takes a fast path inside `parse_phone`
that gives exactly what phonenumbers gives (tests/unit/test_text_phones.py compares both
paths, and both with phonenumbers, on generated numbers).
"""

from __future__ import annotations

import re
import unicodedata
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import phonenumbers


class Phone(NamedTuple):
    """A phone as stored: see the module's description."""

    shown: str
    normalized: str
    valid: bool
    extension: str = ""


EXTENSION_PARAMETER = ";ext="  # RFC 3966, in `normalized`
_WORD_EXTENSION = re.compile("добавочный", re.IGNORECASE)
_ASCII_DIGITS = "0123456789"


def _lib() -> ModuleType:
    """phonenumbers, imported on first use: its metadata costs ~15 ms that the first screen
    of the app and `tui-crm find` do not need."""
    import phonenumbers

    return phonenumbers


def extension_label(region: str) -> str:
    """What separates a shown number from its extension in `region`."""
    return " доб. " if region == "RU" else " ext. "


def ascii_digits(text: str) -> str:
    """`text` with every Unicode decimal digit replaced by its ASCII digit (the characters
    phonenumbers reads as digits); everything else unchanged."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def digits_of(text: str) -> str:
    """The ASCII digits of a text, Unicode digits translated."""
    return "".join(ch for ch in ascii_digits(text) if ch in _ASCII_DIGITS)


def prepare(text: str) -> str:
    """The text phonenumbers is given: stripped, ASCII digits, `добавочный` as `доб.`."""
    return _WORD_EXTENSION.sub("доб.", ascii_digits(text.strip()))


# --- the fast path: plain Russian numbers -------------------------------------------------------

_PUNCTUATION = b" ().-"  # what a plain number may hold besides its digits (and a leading +)
_ru_patterns: tuple[re.Pattern[str], ...] | None = None


def _russian_patterns() -> tuple[re.Pattern[str], ...]:
    """The national number patterns of Russian mobile and fixed-line numbers, read from
    phonenumbers' own metadata."""
    global _ru_patterns
    if _ru_patterns is None:
        meta = _lib().PhoneMetadata.metadata_for_region("RU")
        _ru_patterns = tuple(re.compile(d.national_number_pattern, re.ASCII)
                             for d in (meta.mobile, meta.fixed_line)
                             if d is not None and d.national_number_pattern)
    return _ru_patterns


def fast_russian(text: str) -> Phone | None:
    """A valid Russian mobile or 3xx/4xx number written with ASCII digits, spaces, dots,
    dashes and brackets only (`8 (916) 123-45-67`, `+7 916 1234567`, `9161234567`), without
    asking phonenumbers: a tenth of the time, and the same answer. None: ask phonenumbers."""
    if not (text and text.isascii()):
        return None
    plus = text[0] == "+"
    code = (text[1:] if plus else text).encode().translate(None, _PUNCTUATION)
    if not code.isdigit():  # bytes: ASCII digits only
        return None
    digits = code.decode()
    if len(digits) == 11 and (digits[0] == "7" or (digits[0] == "8" and not plus)):
        nsn = digits[1:]
    elif len(digits) == 10 and not plus:
        nsn = digits
    else:
        return None
    if nsn[0] not in "349":
        return None
    for pattern in _russian_patterns():
        if pattern.fullmatch(nsn):
            # The international format phonenumbers uses for these numbers: 3-3-2-2.
            return Phone(f"+7 {nsn[:3]} {nsn[3:6]}-{nsn[6:8]}-{nsn[8:]}", "+7" + nsn, True)
    return None


# --- the slow path: phonenumbers --------------------------------------------------------------


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Whatever phonenumbers reads from the text (valid or not); None when it cannot."""
    try:
        return _lib().parse(text, region)
    except Exception:  # NumberParseException, an unknown region, anything odd in the input
        return None


def _valid(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number phonenumbers reads from the text, if valid and if its stored (E.164) form
    reads back to it: phonenumbers takes a few national forms for numbers whose E.164 form
    it reads as another (Belarus's `8 810 …`, where 8 10 dials abroad, read as
    +375 810 … that reads back as +375 10 …) — stored, such a number would not be found
    or shown again as typed, so it is kept as typed, not valid."""
    lib = _lib()
    number = _parse(text, region)
    if number is None or not lib.is_valid_number(number):
        return None
    e164 = lib.format_number(number, lib.PhoneNumberFormat.E164)
    again = _parse(e164, region)
    if again is None or lib.format_number(again, lib.PhoneNumberFormat.E164) != e164 \
            or not lib.is_valid_number(again):
        return None
    return number


def _without_plus(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Rule 3 of the module's description: a number typed without its +."""
    first = next((i for i, ch in enumerate(text) if ch in _ASCII_DIGITS), -1)
    if first < 0 or "+" in text[:first] or "＋" in text[:first]:
        return None
    # phonenumbers finds the extension (it does not depend on the region).
    probe = _parse(text, "RU")
    if probe is None:
        return None
    main = sum(ch in _ASCII_DIGITS for ch in text) - len(probe.extension or "")
    if main == 11 and text[first] == "8":
        return _valid(text[:first] + "+7" + text[first + 1:], region)
    if main >= 11:
        return _valid(text[:first] + "+" + text[first:], region)
    return None


def _phone_of(number: phonenumbers.PhoneNumber, region: str) -> Phone:
    lib = _lib()
    extension = number.extension or ""
    number.extension = None  # formatted by our rule below, not phonenumbers' " ext. "
    e164 = lib.format_number(number, lib.PhoneNumberFormat.E164)
    shown = lib.format_number(number, lib.PhoneNumberFormat.INTERNATIONAL)
    if extension:
        return Phone(shown + extension_label(region) + extension,
                     e164 + EXTENSION_PARAMETER + extension, True, extension)
    return Phone(shown, e164, True)


def slow_parse(text: str, region: str = "RU") -> Phone:
    """`parse_phone` without its fast path (for the tests that compare the two)."""
    text = text.strip() if isinstance(text, str) else ""
    prepared = prepare(text)
    number = _valid(prepared, region)
    if number is None:
        number = _without_plus(prepared, region)
    if number is None:
        return Phone(text, digits_of(prepared), False)
    return _phone_of(number, region)


def parse_phone(text: str, region: str = "RU") -> Phone:
    """The phone as stored and shown (see the module's description); never raises."""
    if not isinstance(text, str):
        return Phone("", "", False)
    text = text.strip()
    if region == "RU" and (fast := fast_russian(text)) is not None:
        return fast
    return slow_parse(text, region)


def normalize_phone(text: str, region: str = "RU") -> str | None:
    """The stored form of a valid phone (`+79161234567`, `+74951112233;ext=123`), or None."""
    phone = parse_phone(text, region)
    return phone.normalized if phone.valid else None


def format_phone(normalized: str, region: str = "RU") -> str:
    """The shown form of a stored phone (`+7 916 123-45-67`, `+7 495 111-22-33 доб. 12`);
    text that is not a valid number comes back as it is."""
    phone = parse_phone(normalized, region)
    return phone.shown if phone.valid else normalized


# --- search -----------------------------------------------------------------------------------

def phone_digit_forms(text: str, region: str = "RU", *, stored: bool = False) -> list[str]:
    """The digit runs a phone is found by: international, national with its trunk prefix and
    the national significant number (`+79161234567` → `79161234567`, `89161234567`,
    `9161234567`), then the extension's digits as a term of their own (so `111-22-33` still
    finds `+7 495 111-22-33 доб. 123`). Text that is not a valid number gives its digits, or
    nothing. `stored`: the text is the `normalized` form of a valid phone."""
    if not isinstance(text, str):
        return []
    if stored and text[:2] == "+7":
        main, _sep, extension = text.partition(EXTENSION_PARAMETER)
        if len(main) == 12 and main.isascii() and main[1:].isdigit() \
                and (not extension or (extension.isascii() and extension.isdigit())):
            # Every valid +7 number (Russia, Kazakhstan) is written nationally as 8 and its
            # ten digits: no need to ask phonenumbers (a rebuild of the index of 100k clients
            # would take minutes).
            digits = main[1:]
            return [digits, "8" + digits[1:], digits[1:], *([extension] if extension else [])]
    return slow_digit_forms(text, region)


def slow_digit_forms(text: str, region: str = "RU") -> list[str]:
    """`phone_digit_forms` without its shortcut for stored Russian numbers."""
    phone = parse_phone(text, region)
    if not phone.valid:
        digits = digits_of(text) if isinstance(text, str) else ""
        return [digits] if digits else []
    lib = _lib()
    number = lib.parse(phone.normalized.partition(EXTENSION_PARAMETER)[0], None)
    national = lib.format_number(number, lib.PhoneNumberFormat.NATIONAL)
    forms = [phone.normalized.partition(EXTENSION_PARAMETER)[0].lstrip("+"),
             digits_of(national), lib.national_significant_number(number)]
    if phone.extension:
        forms.append(phone.extension)
    return [form for i, form in enumerate(forms) if form and form not in forms[:i]]


PHONE_QUERY = re.compile(r"[\d\s()+\-.]+")
MIN_QUERY_DIGITS = 5


def query_digits(text: str) -> str | None:
    """The digit run a phone-like search text looks for, or None when the text is not a
    phone: `8 (916) 123-45-67` and `+7 916 123 45 67` both look for `9161234567` (the
    national significant number, a form every stored phone is indexed by)."""
    if not PHONE_QUERY.fullmatch(text):
        return None
    digits = digits_of(text)
    if len(digits) < MIN_QUERY_DIGITS:
        return None
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]  # +7 / 8 trunk prefix
    return digits
