"""Tests of the rules in tui_crm.text (phones, e-mail, INN, URLs, search normalization)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tui_crm.i18n import catalog, get_language, set_language
from tui_crm.text.identity import (
    InvalidValue,
    inn_is_valid,
    make_inn10,
    make_inn12,
    normalize_url,
    validate_email,
    validate_inn,
)
from tui_crm.text.names import normalize_text
from tui_crm.text.names import org_key as normalize_name
from tui_crm.text.phones import format_phone, normalize_phone, phone_digit_forms


@pytest.fixture
def language() -> Iterator[None]:
    saved = get_language()
    yield
    set_language(saved)


# --- phones ---------------------------------------------------------------------------------

SAME_MOBILE = [
    "8 (916) 123-45-67",
    "+7 916 1234567",
    "+7 (916) 123-45-67",
    "8-916-123-45-67",
    "89161234567",
    "9161234567",
    "916 123 45 67",
    "7 916 123 45 67",
    "79161234567",
    "+79161234567",
    "  +7-916-123-45-67  ",
]


@pytest.mark.parametrize("text", SAME_MOBILE)
def test_normalize_phone_russian_notations(text: str) -> None:
    assert normalize_phone(text) == "+79161234567"


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("8 (495) 123-45-67", "RU", "+74951234567"),
        ("8 800 555-35-35", "RU", "+78005553535"),
        ("+7 (495) 123-45-67 доб. 123", "RU", "+74951234567;ext=123"),  # the extension kept
        ("+44 20 7946 0958", "RU", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+1 650 253 0000", "RU", "+16502530000"),
        ("+375 29 123-45-67", "RU", "+375291234567"),
    ],
)
def test_normalize_phone_other(text: str, region: str, expected: str) -> None:
    assert normalize_phone(text, region) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "123",
        "8 916 123 45 6",
        "+7 916 123 45 678",
        "+7",
        "не звонить",
        "x" * 300,
        "1" * 300,
        "+999 123 456 789",
        "--",
    ],
)
def test_normalize_phone_unparsable(text: str) -> None:
    assert normalize_phone(text) is None


def test_normalize_phone_never_raises() -> None:
    assert normalize_phone(None) is None  # type: ignore[arg-type]
    assert normalize_phone("+7 916 123 45 67", "XX") == "+79161234567"


@pytest.mark.parametrize("text", SAME_MOBILE)
def test_phone_digit_forms_russian(text: str) -> None:
    assert phone_digit_forms(text) == ["79161234567", "89161234567", "9161234567"]


def test_phone_digit_forms_foreign() -> None:
    assert phone_digit_forms("+44 20 7946 0958") == ["442079460958", "02079460958", "2079460958"]
    assert phone_digit_forms("+1 650 253 0000") == ["16502530000", "6502530000"]


def test_phone_digit_forms_unparsable() -> None:
    assert phone_digit_forms("12-34") == ["1234"]
    assert phone_digit_forms("доб. 123") == ["123"]
    assert phone_digit_forms("abc") == []
    assert phone_digit_forms("") == []


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+79161234567", "+7 916 123-45-67"),
        ("+74951234567", "+7 495 123-45-67"),
        ("+78005553535", "+7 800 555-35-35"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+16502530000", "+1 650-253-0000"),
    ],
)
def test_format_phone(e164: str, expected: str) -> None:
    assert format_phone(e164) == expected


def test_format_phone_unparsable_is_unchanged() -> None:
    assert format_phone("123") == "123"
    assert format_phone("") == ""


# --- e-mail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ivan@mail.ru", "ivan@mail.ru"),
        ("  Ivan.Petrov@Mail.RU  ", "Ivan.Petrov@mail.ru"),
        ("sales+crm@example.co.uk", "sales+crm@example.co.uk"),
        ("first_last-1@sub.example.com", "first_last-1@sub.example.com"),
        ("почта@пример.рф", "почта@пример.рф"),
        ("Почта@ПРИМЕР.РФ", "Почта@пример.рф"),
        ("info@xn--e1afmkfd.xn--p1ai", "info@xn--e1afmkfd.xn--p1ai"),
        ("a@b.cd", "a@b.cd"),
    ],
)
def test_validate_email(text: str, expected: str) -> None:
    assert validate_email(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ivan",
        "ivan@",
        "@mail.ru",
        "ivan@mail",
        "ivan@@mail.ru",
        "ivan@petrov@mail.ru",
        "ivan petrov@mail.ru",
        "ivan@mail .ru",
        "ivan@mail..ru",
        "ivan@.mail.ru",
        "ivan@mail.ru.",
        "ivan@mail.r",
        "ivan@mail.123",
        "ivan,petrov@mail.ru",
        "<ivan@mail.ru>",
    ],
)
def test_validate_email_rejects(text: str) -> None:
    with pytest.raises(InvalidValue):
        validate_email(text)


def test_email_messages(language: None) -> None:
    set_language("en")
    with pytest.raises(InvalidValue, match=r"^Invalid e-mail address: ivan@$"):
        validate_email("ivan@")
    with pytest.raises(InvalidValue, match=r"^E-mail address is empty$"):
        validate_email(" ")
    set_language("ru")
    with pytest.raises(InvalidValue) as info:
        validate_email("ivan@")
    assert str(info.value) == "Неверный адрес электронной почты: ivan@"


# --- INN ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7707083893", "7707083893"),  # Sberbank
        ("500100732259", "500100732259"),
        (" 7707 083 893 ", "7707083893"),
        ("5001 0073 2259", "500100732259"),
        ("7736207543", "7736207543"),  # Yandex
    ],
)
def test_validate_inn(text: str, expected: str) -> None:
    assert validate_inn(text) == expected
    assert inn_is_valid(text) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("7707083894", "INN checksum does not match"),
        ("7707083883", "INN checksum does not match"),
        ("1707083893", "INN checksum does not match"),
        ("500100732250", "INN checksum does not match"),
        ("500100732269", "INN checksum does not match"),
        ("500100732258", "INN checksum does not match"),
        ("600100732259", "INN checksum does not match"),
        ("", "INN must have 10 or 12 digits"),
        ("770708389", "INN must have 10 or 12 digits"),
        ("77070838930", "INN must have 10 or 12 digits"),
        ("5001007322590", "INN must have 10 or 12 digits"),
        ("77070838a3", "INN must contain only digits"),
        ("7707-083-893", "INN must contain only digits"),
        ("７７０７０８３８９３", "INN must contain only digits"),
    ],
)
def test_validate_inn_rejects(text: str, message: str, language: None) -> None:
    set_language("en")
    with pytest.raises(InvalidValue) as info:
        validate_inn(text)
    assert str(info.value) == message
    assert inn_is_valid(text) is False


def test_inn_messages_russian(language: None) -> None:
    set_language("ru")
    with pytest.raises(InvalidValue) as info:
        validate_inn("7707083894")
    assert str(info.value) == "Неверная контрольная сумма ИНН"
    with pytest.raises(InvalidValue) as info:
        validate_inn("123")
    assert str(info.value) == "ИНН должен содержать 10 или 12 цифр"


def test_make_inn() -> None:
    assert make_inn10("770708389") == "7707083893"
    assert make_inn12("5001007322") == "500100732259"
    assert inn_is_valid(make_inn10("123456789"))
    assert make_inn10("123456789") == "1234567894"
    assert inn_is_valid(make_inn12("1234567890"))
    assert make_inn12("1234567890") == "123456789047"


@pytest.mark.parametrize(("func", "text"), [(make_inn10, "12345678"), (make_inn12, "12345")])
def test_make_inn_rejects_bad_prefix(func: Callable[[str], str], text: str) -> None:
    with pytest.raises(ValueError):
        func(text)
    with pytest.raises(ValueError):
        func(text[:-1] + "x" + "0")


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", "https://example.com"),
        ("  www.example.com/path?q=1  ", "https://www.example.com/path?q=1"),
        ("http://example.com", "http://example.com"),
        ("https://example.com", "https://example.com"),
        ("HTTPS://Example.com/A", "https://Example.com/A"),
        ("//example.com", "https://example.com"),
        ("пример.рф", "https://пример.рф"),
        ("example.com:8080/x", "https://example.com:8080/x"),
        ("ftp://files.example.com", "ftp://files.example.com"),
    ],
)
def test_normalize_url(text: str, expected: str) -> None:
    assert normalize_url(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "example .com", "https://exa mple.com", "https://", "http://", "//", "a\tb"],
)
def test_normalize_url_rejects(text: str) -> None:
    with pytest.raises(InvalidValue):
        normalize_url(text)


def test_url_messages(language: None) -> None:
    set_language("en")
    with pytest.raises(InvalidValue, match=r"^Invalid web address: example \.com$"):
        normalize_url("example .com")
    with pytest.raises(InvalidValue, match=r"^Web address is empty$"):
        normalize_url("")
    set_language("ru")
    with pytest.raises(InvalidValue) as info:
        normalize_url("https://")
    assert str(info.value) == "Неверный адрес сайта: https://"


# --- text normalization ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Пётр", "петр"),
        ("ЁЛКА", "елка"),
        ("  Иван   Петров \t\n", "иван петров"),
        ("Straße", "strasse"),
        ("ООО «Ромашка»", "ооо «ромашка»"),
        ("", ""),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ООО «Ромашка»", "ромашка"),
        ('ООО "Ромашка"', "ромашка"),
        ("«Ромашка», ООО", "ромашка"),
        ("ооо ромашка", "ромашка"),
        ('ЗАО "Ёлка"', "елка"),
        ("ОАО «Газпром»", "газпром"),
        ("ПАО Сбербанк", "сбербанк"),
        ("АО «Тинькофф Банк»", "тинькофф банк"),
        ("ИП Иванов И.И.", "иванов и.и."),
        ("Acme, Inc.", "acme"),
        ("Acme Inc", "acme"),
        ("ACME LLC", "acme"),
        ("Acme Ltd.", "acme"),
        ("O'Reilly Media", "o reilly media"),
        ("Гаоо ао", "гаоо"),
        ("Аошка", "аошка"),
        ("  Пётр   ВЕЛИКИЙ ", "петр великий"),
    ],
)
def test_normalize_name(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


def test_normalize_name_matches_variants() -> None:
    variants = ["ООО «Ромашка»", 'ооо "РОМАШКА"', "Ромашка, ООО", "  ромашка  "]
    assert {normalize_name(v) for v in variants} == {"ромашка"}


def test_messages_are_translated() -> None:
    ru = catalog("ru")
    for msgid in (
        "E-mail address is empty",
        "Invalid e-mail address: {text}",
        "Web address is empty",
        "Invalid web address: {text}",
        "INN must contain only digits",
        "INN must have 10 or 12 digits",
        "INN checksum does not match",
    ):
        assert ru[msgid] != msgid
        assert ("{text}" in msgid) == ("{text}" in ru[msgid])
