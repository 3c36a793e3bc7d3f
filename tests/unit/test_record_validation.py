"""Bad input to the records service: one ValidationError naming the field, nothing written."""

from __future__ import annotations

import pytest

from tui_crm.errors import CrmError, ValidationError
from tui_crm.services.core import records, settings
from tui_crm.services.core.rights import Actor

INN = "7707083893"


@pytest.fixture
def base(db, actor: Actor) -> dict[str, int]:
    settings.add_custom_field(actor, "organizations", "Регион", "choice", ["Север", "Юг"])
    settings.add_custom_field(actor, "organizations", "Лимит", "number")
    org = records.create(actor, "organizations", {"name": "Альфа", "source": "Website",
                                                  "emails": ["a@alfa.ru"]})
    contact = records.create(actor, "contacts", {"last_name": "Иванов"})
    return {"org": org.id, "contact": contact.id}


BAD_CREATES = [
    ("organizations", {"name": "X", "source": "Website", "emails": ["not an e-mail"]}, "emails"),
    ("organizations", {"name": "X", "source": "Website", "emails": ["a@b"]}, "emails"),
    ("organizations", {"name": "X", "source": "Website", "inn": "7707083894"}, "inn"),
    ("organizations", {"name": "X", "source": "Website", "inn": "12345"}, "inn"),
    ("organizations", {"name": "X", "source": "Website", "inn": "77O7083893"}, "inn"),
    ("organizations", {"name": "X", "source": "Website", "colour": "red"}, "colour"),
    ("organizations", {"name": "X", "source": "Website", "status": "friend"}, "status"),
    ("organizations", {"name": "X", "source": "Website", "region": "Запад"}, "region"),
    ("organizations", {"name": "X", "source": "Website", "limit": "много"}, "limit"),
    ("organizations", {"name": "X", "source": "Website", "limit": "1e999999"}, "limit"),
    ("organizations", {"name": "X", "source": "Website", "limit": float("nan")}, "limit"),
    ("organizations", {"name": "X", "source": "Website", "cadence_days": "1.5"}, "cadence_days"),
    ("organizations", {"name": "X", "source": "Website", "opt_out": "может быть"}, "opt_out"),
    ("organizations", {"name": "X", "source": "Nowhere"}, "source"),
    ("organizations", {"name": "X", "source": "Website", "owner": "nobody"}, "owner"),
    ("organizations", {"name": "X", "source": "Website", "primary_phone": "1"}, "primary_phone"),
    ("organizations", {"name": "X", "source": "Website", "website": "a b"}, "website"),
    ("organizations", {"name": "   ", "source": "Website"}, "name"),
    ("organizations", {"source": "Website"}, "name"),
    ("organizations", {"name": "X"}, "source"),
    ("organizations", {"name": "X", "status": "lead"}, "source"),
    ("contacts", {"first_name": "", "last_name": ""}, "last_name"),
    ("contacts", {"last_name": "Петров", "birthday": "32.13.2020"}, "birthday"),
    ("contacts", {"last_name": "Петров", "organization": "Нет такой"}, "organization"),
    ("contacts", {"last_name": "Петров", "organization": "999"}, "organization"),
    ("tasks", {"description": "без заголовка"}, "title"),
    ("tasks", {"title": "T", "due_at": "вчерашний завтрашний день"}, "due_at"),
    ("tasks", {"title": "T", "priority": "urgent"}, "priority"),
    ("events", {"starts_at": "01.01.2027 10:00"}, "event_type"),
    ("events", {"event_type": "call"}, "starts_at"),
    ("events", {"event_type": "dance", "starts_at": "01.01.2027 10:00"}, "event_type"),
    ("events", {"event_type": "call", "starts_at": "01.01.2027 10:00",
                "ends_at": "01.01.2027 09:00"}, "ends_at"),
    ("events", {"event_type": "call", "starts_at": "01.01.2027 10:00",
                "result": "nonsense"}, "result"),
    ("events", {"event_type": "call", "starts_at": "01.01.2027 10:00",
                "rrule": "FREQ=SOMETIMES"}, "rrule"),
    ("events", {"event_type": "call", "starts_at": "01.01.2027 10:00",
                "reminder_minutes": "soon"}, "reminder_minutes"),
    ("notes", {"title": "N", "tags": "x", "phones": ["+7 916 123 45 67"]}, "phones"),
    ("links", {"title": "no url"}, "url"),
    ("deals", {"title": "D", "amount": "1,2,3"}, "amount"),
    ("deals", {"title": "D", "stage": "done"}, "stage"),
    ("payments", {"date": "01.01.2027", "amount": "-5", "organization": "Альфа"}, "amount"),
    ("payments", {"date": "01.01.2027", "amount": "5"}, "organization"),
    ("payments", {"amount": "5", "organization": "Альфа"}, "date"),
    ("services", {"date": "01.01.2027", "organization": "Альфа", "units": "NaN"}, "units"),
    # What one backend would keep and the other refuse is refused on both.
    ("organizations", {"name": "Я" * 256, "source": "Website"}, "name"),
    ("organizations", {"name": "X", "source": "Website", "address": "a" * 300}, "address"),
    ("organizations", {"name": "X", "source": "Website", "phones": ["1" * 300]}, "phones"),
    ("organizations", {"name": "X", "source": "Website", "tags": ["t" * 256]}, "tags"),
    ("organizations", {"name": "X", "source": "Website", "cadence_days": "3000000000"},
     "cadence_days"),
    ("organizations", {"name": "X", "source": "Website", "cadence_days": 2**40}, "cadence_days"),
    ("deals", {"title": "D", "amount": "1000000000000"}, "amount"),
    ("deals", {"title": "D", "amount": "1e15"}, "amount"),
    ("deals", {"title": "D", "amount": "1e40"}, "amount"),
    ("deals", {"title": "D", "amount": "999999999999.995"}, "amount"),
    ("services", {"date": "01.01.2027", "organization": "Альфа", "units": "100000000000"},
     "units"),
    ("contacts", {"last_name": "П", "organization": "99999999999999999999999"}, "organization"),
    ("tasks", {"title": "T", "assignee": "99999999999999999999999"}, "assignee"),
]


@pytest.mark.parametrize("kind, data, field", BAD_CREATES,
                         ids=[f"{k}-{f}-{i}" for i, (k, _d, f) in enumerate(BAD_CREATES)])
def test_bad_create_is_refused_and_changes_nothing(base, actor: Actor, row_counts,
                                                   kind: str, data: dict, field: str) -> None:
    before = row_counts()
    with pytest.raises(ValidationError) as err:
        records.create(actor, kind, data)
    assert field in err.value.errors
    assert err.value.errors[field]
    assert "\n" not in str(err.value)
    assert row_counts() == before


def test_all_problems_are_reported_at_once(base, actor: Actor) -> None:
    with pytest.raises(ValidationError) as err:
        records.create(actor, "organizations", {"name": "", "inn": "1", "emails": ["x"],
                                                "colour": "red", "source": "Website"})
    assert set(err.value.errors) == {"name", "inn", "emails", "colour"}


def test_messages_are_specific(base, actor: Actor) -> None:
    cases = [
        ({"inn": "7707083894"}, "inn", "INN checksum does not match"),
        ({"inn": "123"}, "inn", "INN must have 10 or 12 digits"),
        ({"emails": ["a@@b.ru"]}, "emails", "Invalid e-mail address: a@@b.ru"),
        ({"colour": "red"}, "colour",
         "Unknown field; see `tui-crm fields organizations`"),
        ({"status": "friend"}, "status",
         "Unknown value 'friend'; choose one of: lead, warm, client, lost"),
        ({"region": "Запад"}, "region", "Unknown value 'Запад'; choose one of: Север, Юг"),
    ]
    for data, field, message in cases:
        with pytest.raises(ValidationError) as err:
            records.update(actor, "organizations", base["org"], data)
        assert err.value.errors == {field: message}


BAD_UPDATES = [
    ("organizations", {"emails": ["bad"]}, "emails"),
    ("organizations", {"inn": "7707083894"}, "inn"),
    ("organizations", {"name": ""}, "name"),
    ("organizations", {"colour": "red"}, "colour"),
    ("organizations", {"region": "Запад"}, "region"),
    ("organizations", {"last_contact_at": "01.01.2020"}, "last_contact_at"),
    ("contacts", {"last_name": ""}, "last_name"),
    ("contacts", {"birthday": "31.02.1990"}, "birthday"),
]


@pytest.mark.parametrize("kind, data, field", BAD_UPDATES)
def test_bad_update_is_refused_and_changes_nothing(base, actor: Actor, row_counts, kind: str,
                                                   data: dict, field: str) -> None:
    record_id = base["org"] if kind == "organizations" else base["contact"]
    before_view = records.get(actor, kind, record_id)
    before = row_counts()
    with pytest.raises(ValidationError) as err:
        records.update(actor, kind, record_id, data, expected_version=before_view.version)
    assert field in err.value.errors
    assert row_counts() == before
    after = records.get(actor, kind, record_id)
    assert after.version == before_view.version
    assert after.values == before_view.values
    assert after.points == before_view.points


def test_lead_source_rule_can_be_switched_off(base, actor: Actor) -> None:
    from tui_crm.db import models as m

    m.Setting.create(key="require_source_for_leads", value="false")
    view = records.create(actor, "organizations", {"name": "Без источника"})
    assert view.values["source"] is None
    assert view.values["status"] == "lead"


def test_non_lead_needs_no_source(base, actor: Actor) -> None:
    view = records.create(actor, "organizations", {"name": "Клиент", "status": "client"})
    assert view.values["source"] is None


def test_errors_are_crm_errors_with_exit_codes(base, actor: Actor) -> None:
    with pytest.raises(CrmError) as err:
        records.create(actor, "tasks", {})
    assert err.value.exit_code == 2


def test_limits_that_fit_are_kept(base, actor: Actor) -> None:
    from decimal import Decimal

    from tui_crm.errors import NotFound

    org = records.create(actor, "organizations", {
        "name": "Я" * 255, "source": "Website", "notes": "длинный текст " * 1000,
        "cadence_days": "3650"})
    assert len(org.values["name"]) == 255
    assert len(org.values["notes"]) == 14_000
    assert org.values["cadence_days"] == 3650
    deal = records.create(actor, "deals", {"title": "D", "amount": "999 999 999 999,994"})
    assert deal.values["amount"] == Decimal("999999999999.99")
    payment = records.create(actor, "payments", {"date": "02.01.2027", "amount": "300,105",
                                                 "organization": "Альфа"})
    assert payment.values["amount"] == Decimal("300.11")
    assert payment.title == "2027-01-02 300.11 Альфа"
    for bad_id in (0, -1, 2**63, 10**30):
        with pytest.raises(NotFound):
            records.get(actor, "organizations", bad_id)
