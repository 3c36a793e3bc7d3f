"""INN, web addresses and e-mail (`tui_crm.text.identity`): each fast path gives exactly what
the general rule gives, on generated input, and known INNs are told apart."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui_crm.text.identity import (
    InvalidValue,
    email_key,
    fast_inn,
    fast_url,
    inn_is_valid,
    inn_key,
    make_inn10,
    make_inn12,
    messenger_key,
    normalize_url,
    slow_normalize_url,
    slow_validate_inn,
    validate_email,
    validate_inn,
)

RULES = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(rule, text: str) -> tuple[str, str]:  # noqa: ANN001 - a validator
    """("ok", value) or ("error", message): what a user would see."""
    try:
        return "ok", rule(text)
    except InvalidValue as exc:
        return "error", str(exc)


# --- INN --------------------------------------------------------------------------------------

DIGITS = "0123456789"
INN_TEXTS = st.one_of(
    st.text(DIGITS, min_size=9, max_size=9).map(make_inn10),
    st.text(DIGITS, min_size=10, max_size=10).map(make_inn12),
    st.text(DIGITS, min_size=8, max_size=13),
    st.text(DIGITS + " \t０１٣x-", max_size=14),
    st.text(max_size=14),
)


@RULES
@given(INN_TEXTS)
@example("７７０７０８３８９３")
@example("7707 083 893")
def test_inn_fast_path_is_the_slow_rule(text: str) -> None:
    fast = fast_inn(text)
    slow = outcome(slow_validate_inn, text)
    if fast is not None:
        assert slow == ("ok", fast)
    elif text.isascii() and text.isdigit():
        assert slow[0] == "error"  # the fast path leaves out only what the rule refuses
    assert outcome(validate_inn, text) == slow


@RULES
@given(st.text(DIGITS, min_size=9, max_size=9), st.text(DIGITS, min_size=10, max_size=10),
       st.integers(1, 9))
def test_made_inns_are_valid_and_a_changed_check_digit_is_not(first9: str, first10: str,
                                                              delta: int) -> None:
    for inn, checked in ((make_inn10(first9), (9,)), (make_inn12(first10), (10, 11))):
        assert validate_inn(inn) == inn and inn_key(f" {inn} ") == inn
        for position in checked:
            digit = str((int(inn[position]) + delta) % 10)
            changed = inn[:position] + digit + inn[position + 1:]
            assert not inn_is_valid(changed) and inn_key(changed) is None


@pytest.mark.parametrize("inn", ["7707083893", "7736207543", "500100732259", "7830002293",
                                 " 7707 083 893 "])
def test_known_valid_inns(inn: str) -> None:
    assert validate_inn(inn) == "".join(inn.split())


@pytest.mark.parametrize(("inn", "message"), [
    ("7707083894", "INN checksum does not match"),
    ("500100732258", "INN checksum does not match"),
    ("770708389", "INN must have 10 or 12 digits"),
    ("７７０７０８３８９３", "INN must contain only digits"),
    ("77070838x3", "INN must contain only digits"),
    ("", "INN must have 10 or 12 digits"),
])
def test_known_invalid_inns(inn: str, message: str) -> None:
    assert outcome(validate_inn, inn) == ("error", message)
    assert inn_key(inn) is None


# --- web addresses ------------------------------------------------------------------------------

URL_TEXTS = st.one_of(
    st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,8}){1,3}(/[!-~]{0,12})?", fullmatch=True),
    st.text("abcxyz019.-/:?#=@[] \tё", max_size=24),
    st.text(max_size=24),
)


@RULES
@given(URL_TEXTS)
@example("bench0.ru")
@example("//cdn.example.com")
@example("x.ru:8080")
def test_url_fast_path_is_the_slow_rule(text: str) -> None:
    fast = fast_url(text)
    slow = outcome(slow_normalize_url, text)
    if fast is not None:
        assert slow == ("ok", fast)
    assert outcome(normalize_url, text) == slow


def test_urls() -> None:
    assert normalize_url("example.com/price?x=1") == "https://example.com/price?x=1"
    assert normalize_url("HTTP://X.RU/a") == "http://X.RU/a"
    assert normalize_url(" сайт.рф ") == "https://сайт.рф"
    assert outcome(normalize_url, "a b.ru")[0] == "error"


# --- e-mail and messengers --------------------------------------------------------------------


@RULES
@given(st.from_regex(r"[A-Za-z0-9._+-]{1,10}@[A-Za-zа-я0-9-]{1,8}\.(ru|COM|рф|Org)",
                     fullmatch=True))
def test_an_address_keeps_its_local_part_and_lowers_its_domain(address: str) -> None:
    shown = validate_email(f"  {address} ")
    local, _at, domain = address.partition("@")
    assert shown == f"{local}@{domain.lower()}"
    assert validate_email(shown) == shown  # validating twice changes nothing
    assert email_key(shown) == email_key(address) == address.casefold()


@pytest.mark.parametrize("text", ["", "ivan", "ivan@@x.ru", "ivan@x", "a b@x.ru", "<a@x.ru>"])
def test_bad_addresses_are_refused_with_a_message(text: str) -> None:
    kind, message = outcome(validate_email, text)
    assert kind == "error" and "\n" not in message


def test_messenger_keys() -> None:
    assert messenger_key(" @Ivan_Petrov ") == messenger_key("ivan_petrov") == "ivan_petrov"
