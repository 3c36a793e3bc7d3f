"""Validation and normalization of contact data, with Russian specifics.

Phones (E.164 via ``phonenumbers``), e-mail, INN (Russian tax id), web addresses, and the text
normalization used for search and duplicate matching.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tui_crm.i18n import _

if TYPE_CHECKING:
    import phonenumbers

_SHOWN_MAX = 60


class InvalidValue(ValueError):
    """A value that fails validation; the message is translated and fit for the user."""


def _shown(text: str) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > _SHOWN_MAX:
        one_line = one_line[: _SHOWN_MAX - 1] + "…"
    return one_line


# --- phones ---------------------------------------------------------------------------------


def _lib() -> ModuleType:
    """phonenumbers, imported on first use: its metadata costs ~15 ms that the first screen
    of the app and `tui-crm find` do not need."""
    import phonenumbers

    return phonenumbers


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    lib = _lib()
    try:
        number = lib.parse(text, region)
    except Exception:  # NumberParseException, or anything odd in the input
        return None
    return number if lib.is_valid_number(number) else None


def normalize_phone(text: str, region: str = "RU") -> str | None:
    """The phone number in E.164 (``+79161234567``), or None if it is not a valid number.

    Russian notations ``8 (916) 123-45-67``, ``+7 916 1234567``, ``9161234567`` and
    ``7 916 123 45 67`` are all the same number. Never raises.
    """
    number = _parse_phone(text, region)
    if number is None:
        return None
    lib = _lib()
    return lib.format_number(number, lib.PhoneNumberFormat.E164)


def phone_digit_forms(text: str, region: str = "RU") -> list[str]:
    """The digit strings to index for search.

    ``+79161234567`` gives ``["79161234567", "89161234567", "9161234567"]`` (international,
    national with trunk prefix, national significant number); an unparsable input gives just
    its digits (or nothing when it has none).
    """
    number = _parse_phone(text, region)
    if number is None:
        digits = re.sub(r"\D", "", text) if isinstance(text, str) else ""
        return [digits] if digits else []
    lib = _lib()
    e164 = lib.format_number(number, lib.PhoneNumberFormat.E164)
    national = lib.format_number(number, lib.PhoneNumberFormat.NATIONAL)
    forms = [
        e164.lstrip("+"),
        re.sub(r"\D", "", national),
        lib.national_significant_number(number),
    ]
    return [form for i, form in enumerate(forms) if form and form not in forms[:i]]


def format_phone(e164: str) -> str:
    """A readable international form, ``+7 916 123-45-67``; unparsable text comes back as is."""
    number = _parse_phone(e164, "RU")
    if number is None:
        return e164
    lib = _lib()
    return lib.format_number(number, lib.PhoneNumberFormat.INTERNATIONAL)


# --- e-mail, web ----------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"^(?P<local>[^@\s,;<>()\[\]\"]+)@(?P<domain>(?:[\w-]+\.)+(?:[^\W\d_]{2,}|xn--[\w-]+))$"
)


def validate_email(text: str) -> str:
    """The e-mail address stripped, with its domain lowercased; raises InvalidValue if bad.

    Pragmatic: one ``@``, a non-empty local part, a dotted domain, no spaces. Cyrillic domains
    such as ``почта@пример.рф`` are allowed.
    """
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        raise InvalidValue(_("E-mail address is empty"))
    match = _EMAIL_RE.match(value)
    if match is None:
        raise InvalidValue(_("Invalid e-mail address: {text}").format(text=_shown(value)))
    return f"{match['local']}@{match['domain'].lower()}"


_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def normalize_url(text: str) -> str:
    """The web address with ``https://`` added when it has no scheme; raises InvalidValue."""
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        raise InvalidValue(_("Web address is empty"))
    if any(c.isspace() for c in value):
        raise InvalidValue(_("Invalid web address: {text}").format(text=_shown(value)))
    if value.startswith("//"):
        value = "https:" + value
    elif scheme := _SCHEME_RE.match(value):
        value = scheme[0].lower() + value[scheme.end() :]
    else:
        value = "https://" + value
    try:
        host = urlsplit(value).netloc
    except ValueError:
        host = ""
    if not host:
        raise InvalidValue(_("Invalid web address: {text}").format(text=_shown(text)))
    return value


# --- INN ------------------------------------------------------------------------------------

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def _digits_only(text: str, length: int) -> str:
    if not (len(text) == length and text.isascii() and text.isdigit()):
        raise ValueError(f"expected {length} digits, got {text!r}")
    return text


def make_inn10(first9: str) -> str:
    """A 10-digit (legal entity) INN: the 9 given digits plus their check digit."""
    first9 = _digits_only(first9, 9)
    return first9 + _check_digit(first9, _INN10_WEIGHTS)


def make_inn12(first10: str) -> str:
    """A 12-digit (individual) INN: the 10 given digits plus their two check digits."""
    first10 = _digits_only(first10, 10)
    first11 = first10 + _check_digit(first10, _INN12_WEIGHTS_1)
    return first11 + _check_digit(first11, _INN12_WEIGHTS_2)


def validate_inn(text: str) -> str:
    """The INN as digits (spaces removed); raises InvalidValue on bad length or checksum."""
    value = "".join(text.split()) if isinstance(text, str) else ""
    if value and not (value.isascii() and value.isdigit()):
        raise InvalidValue(_("INN must contain only digits"))
    if len(value) == 10:
        expected = make_inn10(value[:9])
    elif len(value) == 12:
        expected = make_inn12(value[:10])
    else:
        raise InvalidValue(_("INN must have 10 or 12 digits"))
    if value != expected:
        raise InvalidValue(_("INN checksum does not match"))
    return value


def inn_is_valid(text: str) -> bool:
    """Whether the text is a valid 10- or 12-digit INN."""
    try:
        validate_inn(text)
    except InvalidValue:
        return False
    return True


# --- text normalization ---------------------------------------------------------------------

_QUOTES_RE = re.compile(r"[«»\"'“”„‘’`]")
_LEGAL_FORMS_RE = re.compile(
    r"\b(?:ооо|оао|зао|пао|нао|ао|ип|llc|ltd|inc|corp|gmbh)\b\.?",
)


def normalize_text(text: str) -> str:
    """Search form of a text: casefolded, ``ё`` → ``е``, whitespace collapsed and stripped."""
    return " ".join(text.casefold().replace("ё", "е").split())


def normalize_name(text: str) -> str:
    """Company/person name for fuzzy duplicate matching: normalize_text without quotes and
    legal forms (ООО, АО, ИП, LLC, Ltd, Inc, ...)."""
    value = _QUOTES_RE.sub(" ", normalize_text(text))
    value = _LEGAL_FORMS_RE.sub(" ", value)
    return " ".join(value.split()).strip(" ,;-")
