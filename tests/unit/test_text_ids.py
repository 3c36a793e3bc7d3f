"""Record ids as typed: one rule for the CLI's arguments, the services' look-ups by id and
the mail commands' "name or id"."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_crm.text.ids import LARGEST_ID, is_storable_id, parse_id


def test_ids_as_people_write_them() -> None:
    assert parse_id("7") == 7 and parse_id(" #42 ") == 42
    assert parse_id(str(LARGEST_ID)) == LARGEST_ID
    for text in ("", "#", "0", "-3", "1.5", "²", "٣", "7a", str(LARGEST_ID + 1), "9" * 40):
        assert parse_id(text) is None, text
    assert not is_storable_id(True) and not is_storable_id(2**63) and is_storable_id(1)


@given(st.text(max_size=30))
def test_any_text_is_an_id_a_column_holds_or_none(text: str) -> None:
    value = parse_id(text)
    assert value is None or (is_storable_id(value) and str(value) in text)


@given(st.integers())
def test_every_storable_integer_reads_back(number: int) -> None:
    assert parse_id(str(number)) == (number if 0 < number <= LARGEST_ID else None)
