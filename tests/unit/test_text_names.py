"""Names (`tui_crm.text.names`): splitting a full name, the written forms and the matching
keys, on Russian and western names."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tui_crm.text.names import (
    full_name,
    fuzzy_key,
    normalize_text,
    org_key,
    person_key,
    short_name,
    split_full_name,
    western_name,
)


@pytest.mark.parametrize(("text", "western", "parts"), [
    ("Петров Иван Сергеевич", False, ("Петров", "Иван", "Сергеевич")),
    ("Петров Иван Сергеевич", True, ("Петров", "Иван", "Сергеевич")),  # the patronymic decides
    ("Иван Сергеевич Петров", False, ("Петров", "Иван", "Сергеевич")),
    ("Петрова Анна Ивановна", False, ("Петрова", "Анна", "Ивановна")),
    ("Мамедов Рашид Али оглы", False, ("Мамедов", "Рашид", "Али оглы")),
    ("Петров Иван", False, ("Петров", "Иван", "")),
    ("Ivan Petrov", True, ("Petrov", "Ivan", "")),
    ("John Ronald Tolkien", True, ("Tolkien", "John", "Ronald")),
    ("John Ronald Tolkien", False, ("John", "Ronald", "Tolkien")),
    ("Мадонна", False, ("Мадонна", "", "")),
    ("  ", False, ("", "", "")),
])
def test_split_full_name(text: str, western: bool, parts: tuple[str, str, str]) -> None:
    assert split_full_name(text, western=western) == parts


def test_written_forms() -> None:
    assert full_name("Петров", "Иван", "Сергеевич") == "Петров Иван Сергеевич"
    assert full_name("Петров", "", None) == "Петров"
    assert short_name("Петров", "Иван", "Сергеевич") == "Петров И. С."
    assert short_name("Petrov", "Ivan", "") == "Petrov I."
    assert western_name("Петров", "Иван", "Сергеевич") == "Иван Сергеевич Петров"
    assert western_name("Tolkien", "John", "") == "John Tolkien"


PATRONYMIC_END = re.compile("(вич|вна|ична|инична|ьич|оглы|кызы)$", re.IGNORECASE)
WORD = st.text("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЕЁИКМНОПРСТabcdefXYZ-", min_size=1,
               max_size=10).filter(lambda w: w.strip("-"))


@settings(max_examples=300, deadline=None)
@given(WORD, WORD, WORD)
def test_a_russian_name_with_a_patronymic_splits_back_in_either_order(last: str, first: str,
                                                                      middle: str) -> None:
    patronymic = middle + "вич"
    assume(not any(PATRONYMIC_END.search(w) for w in (last, first)))
    for text in (f"{last} {first} {patronymic}", f"{first} {patronymic} {last}"):
        assert split_full_name(text) == (last, first, patronymic)
        assert split_full_name(text, western=True) == (last, first, patronymic)
    assert split_full_name(full_name(last, first, patronymic)) == (last, first, patronymic)


@settings(max_examples=300, deadline=None)
@given(WORD, WORD)
def test_a_western_display_name_splits_back(last: str, first: str) -> None:
    assert split_full_name(western_name(last, first), western=True) == (last, first, "")


def test_person_key_ignores_case_yo_and_spacing() -> None:
    assert person_key("Семёнов", "Пётр", None) == person_key(" семенов", "ПЁТР ", "")
    assert person_key("Семёнов", "Пётр", None) == "семенов петр"
    assert person_key("Иванов", "Иван", "Иванович") != person_key("Иванов", "Иван", "")


@pytest.mark.parametrize("variant", ["ООО «Ромашка»", 'ооо "Ромашка"', "Ромашка, LLC",
                                     "РОМАШКА", "  ромашка  ", "АО Ромашка"])
def test_org_key_drops_quotes_and_legal_forms(variant: str) -> None:
    assert org_key(variant) == "ромашка"


def test_fuzzy_key_reads_punctuation_as_spaces() -> None:
    assert fuzzy_key("ромашка-трейд") == fuzzy_key("ромашка трейд") == "ромашка трейд"
    assert fuzzy_key(org_key("ООО «Ромашка-Трейд»")) == "ромашка трейд"


def test_normalize_text() -> None:
    assert normalize_text("  Ёлка\tПалка\n") == "елка палка"
