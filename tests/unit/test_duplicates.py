"""Duplicate finder: phone in any format, e-mail case, tax id, close names; owner named."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_crm.services.core import records, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import duplicates, rule

INN = "7707083893"


@pytest.fixture
def existing(db, actor: Actor) -> dict[str, int]:
    users.add_user(actor, "anna", full_name="Анна Орлова")
    anna = users.actor_for("anna")
    org = records.create(anna, "organizations", {
        "name": "ООО «Ромашка»", "source": "Website", "inn": INN,
        "phones": ["+7 (916) 123-45-67"], "emails": ["Info@Romashka.ru"]}).id
    other = records.create(actor, "organizations", {"name": "Лютик", "status": "client"}).id
    contact = records.create(anna, "contacts", {
        "last_name": "Иванов", "first_name": "Пётр", "phones": ["8 495 765-43-21"],
        "emails": ["P.Ivanov@Mail.ru"]}).id
    return {"org": org, "other": other, "contact": contact}


def ids(found: list[duplicates.Duplicate]) -> list[int]:
    return [d.id for d in found]


@pytest.mark.parametrize("phone", ["89161234567", "8 916 123 45 67", "+79161234567",
                                   "mobile:9161234567", "work:+7 916 123-45-67"])
def test_phone_in_another_format(existing: dict[str, int], actor: Actor, phone: str) -> None:
    found = duplicates.find(actor, "organizations", {"name": "Другая", "phones": [phone]})
    assert ids(found) == [existing["org"]]
    assert found[0].reasons == ["phone"]
    assert found[0].owner == "Анна Орлова"
    assert found[0].title == "ООО «Ромашка»"
    assert found[0].section == "organizations"


def test_email_case_inn_and_name(existing: dict[str, int], actor: Actor) -> None:
    by_email = duplicates.find(actor, "organizations", {"name": "X", "emails": "INFO@romashka.RU"})
    assert ids(by_email) == [existing["org"]]
    assert by_email[0].reasons == ["e-mail"]

    by_inn = duplicates.find(actor, "organizations", {"name": "X", "inn": "77 0708 3893"})
    assert ids(by_inn) == [existing["org"]]
    assert by_inn[0].reasons == ["tax id"]

    for name in ("Ромашка", "ромашка", "ООО Ромашка", "АО \"Ромашка\"", "Ромашка LLC"):
        by_name = duplicates.find(actor, "organizations", {"name": name})
        assert ids(by_name) == [existing["org"]], name
        assert by_name[0].reasons == ["name"]
    assert duplicates.find(actor, "organizations", {"name": "Ромашкино Поле"}) == []
    assert duplicates.find(actor, "organizations", {"name": "Васильки"}) == []


def test_several_reasons_rank_first(existing: dict[str, int], actor: Actor) -> None:
    found = duplicates.find(actor, "organizations", {
        "name": "Ромашка", "inn": INN, "phones": ["89161234567"], "emails": ["info@romashka.ru"],
    })
    assert ids(found) == [existing["org"]]
    assert found[0].reasons == ["phone", "e-mail", "tax id", "name"]
    assert found[0].describe() == (
        f"ООО «Ромашка» (#{existing['org']}) — client of Анна Орлова;"
        " same phone, e-mail, tax id, name")
    assert found[0].to_dict()["owner"] == "Анна Орлова"


def test_contacts(existing: dict[str, int], actor: Actor) -> None:
    found = duplicates.find(actor, "contacts", {"last_name": "Иванов", "first_name": "Петр"})
    assert ids(found) == [existing["contact"]]
    assert found[0].reasons == ["name"]
    by_phone = duplicates.find(actor, "contacts", {"last_name": "Новый",
                                                   "phones": [("work", "+74957654321")]})
    assert ids(by_phone) == [existing["contact"]]
    by_mail = duplicates.find(actor, "contacts", {"first_name": "X",
                                                  "emails": ["p.ivanov@MAIL.RU"]})
    assert ids(by_mail) == [existing["contact"]]
    assert duplicates.find(actor, "contacts", {"last_name": "Сидоров"}) == []


def test_excludes_the_record_itself_and_the_trash(existing: dict[str, int],
                                                  actor: Actor) -> None:
    values = {"name": "ООО «Ромашка»", "phones": ["+79161234567"], "inn": INN}
    assert duplicates.find(actor, "organizations", values, exclude_id=existing["org"]) == []
    records.delete(actor, "organizations", existing["org"])
    assert duplicates.find(actor, "organizations", values) == []
    records.restore(actor, "organizations", existing["org"])
    assert ids(duplicates.find(actor, "organizations", values)) == [existing["org"]]


def test_other_kinds_and_empty_values(existing: dict[str, int], actor: Actor) -> None:
    assert duplicates.find(actor, "tasks", {"title": "Ромашка"}) == []
    assert duplicates.find(actor, "organizations", {}) == []
    assert duplicates.find(actor, "organizations", {"name": "", "phones": ["abc"],
                                                    "emails": []}) == []
    assert duplicates.find(actor, "organizations", {"name": '"*( AND'}) == []


_NAMES = st.sampled_from(["иванов иван", "петров пётр", "smith john"])
_BIRTHDAYS = st.sampled_from(["", "1985-05-12", "1990-05-12", "1604-05-12", "1985-06-01",
                              "1604-06-01"])  # 1604: a birthday without a year (NO_YEAR)
_PEOPLE = st.builds(lambda name, company, birthday: rule.Keys(
    name=name, company=company, birthday=birthday),
    _NAMES, st.sampled_from(["", "1", "2", "new:ромашка"]), _BIRTHDAYS)


@settings(max_examples=300, deadline=None)
@given(earlier=st.lists(_PEOPLE, max_size=25), new=st.lists(_PEOPLE, min_size=1, max_size=8))
def test_the_person_index_finds_what_comparing_in_order_finds(earlier, new) -> None:
    """The look-ups that keep a big file of common names linear give, for every new person,
    the record that comparing with each namesake in order gives: the first that is surely
    the same, else the first that possibly is (names_verdict decides both)."""
    index = rule.Index("contacts")
    for position, keys in enumerate(earlier):
        index.add(("db", position), keys)
    for keys in new:
        assert index.find(keys) == index._scan(keys)
        index.add(("row", len(index.names)), keys)


def test_a_big_file_of_namesakes_is_matched_in_linear_time() -> None:
    """60 000 people sharing 12 names: each new one is compared by look-ups, not with every
    namesake before it (the count of rule evaluations stays per row, not per pair)."""
    calls = 0
    original = rule.names_verdict

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    index = rule.Index("contacts")
    rule.names_verdict = counting
    try:
        for n in range(60_000):
            keys = rule.Keys(name=f"name {n % 12}", company=str(n % 5000))
            index.find(keys)
            index.add(("row", n), keys)
    finally:
        rule.names_verdict = original
    assert calls <= 60_000
