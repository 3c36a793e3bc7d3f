"""Records service: create, read, update, soft delete, restore and list for every kind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tui_crm.db import models as m
from tui_crm.errors import NotFound, ValidationError
from tui_crm.services.core import audit, records, settings
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search

INN = "7707083893"


@pytest.fixture
def org(db, actor: Actor) -> records.RecordView:
    return records.create(actor, "organizations", {
        "name": "ООО Ромашка", "source": "Website", "inn": INN, "city": "Москва",
        "phones": ["work:+7 (495) 123-45-67", "8 916 123 45 67"],
        "emails": ["Info@Romashka.RU"], "messengers": ["telegram:@Romashka_Bot"],
        "tags": ["vip", "опт"], "category": "VIP", "cadence_days": "14", "opt_out": "да",
        "website": "romashka.ru",
    })


def test_create_organization_stores_typed_values(org: records.RecordView, actor: Actor) -> None:
    view = records.get(actor, "organizations", org.id)
    assert view.kind == "organizations"
    assert view.version == 1
    assert view.title == "ООО Ромашка"
    assert view.values["name"] == "ООО Ромашка"
    assert view.values["inn"] == INN
    assert view.values["city"] == "Москва"
    assert view.values["status"] == "lead"
    assert view.values["category"] == "vip"
    assert view.values["cadence_days"] == 14
    assert view.values["opt_out"] is True
    assert view.values["website"] == "https://romashka.ru"
    assert view.values["owner"] == actor.user_id
    assert view.display["owner"] == actor.login
    assert view.display["source"] == "Website"
    assert view.display["category"] == "VIP"
    assert view.display["opt_out"] == "yes"
    assert view.tags == ["vip", "опт"]
    assert view.display["tags"] == "vip, опт"
    assert view.created_by == actor.login
    assert view.updated_by == actor.login
    assert view.deleted_at is None
    assert isinstance(view.created_at, dt.datetime)


def test_typed_points_are_normalized(org: records.RecordView, actor: Actor) -> None:
    view = records.get(actor, "organizations", org.id)
    phones = view.points_of("phone")
    assert [(p.type, p.value, p.normalized, p.valid) for p in phones] == [
        ("work", "+7 495 123-45-67", "+74951234567", True),
        ("mobile", "+7 916 123-45-67", "+79161234567", True),
    ]
    emails = view.points_of("email")
    assert [(p.type, p.value, p.normalized) for p in emails] == [
        ("work", "Info@romashka.ru", "info@romashka.ru")]
    messengers = view.points_of("messenger")
    assert [(p.type, p.value, p.normalized) for p in messengers] == [
        ("telegram", "@Romashka_Bot", "romashka_bot")]
    assert view.values["primary_phone"] == "+7 495 123-45-67"
    assert view.values["primary_email"] == "Info@romashka.ru"


def test_unparsable_phone_is_kept_as_typed_and_flagged(db, actor: Actor) -> None:
    view = records.create(actor, "contacts", {
        "last_name": "Петров", "phones": [("home", "доб. 12-34"), "mobile:+7 916 000-00-01"]})
    phones = view.points_of("phone")
    assert [(p.type, p.value, p.normalized, p.valid) for p in phones] == [
        ("home", "доб. 12-34", "1234", False),
        ("mobile", "+7 916 000-00-01", "+79160000001", True),
    ]
    assert view.values["primary_phone"] == "доб. 12-34"


def test_to_dict_is_json_friendly(org: records.RecordView, actor: Actor) -> None:
    import json

    data = records.get(actor, "organizations", org.id).to_dict()
    text = json.dumps(data, ensure_ascii=False)
    back = json.loads(text)
    assert back["section"] == "organizations"
    assert back["id"] == org.id
    assert back["name"] == "ООО Ромашка"
    assert back["source_name"] == "Website"
    assert back["owner_name"] == actor.login
    assert back["tags"] == ["vip", "опт"]
    assert back["phones"][0] == {"type": "work", "value": "+7 495 123-45-67",
                                 "normalized": "+74951234567", "valid": True}
    assert back["deleted"] is False


def test_every_kind_round_trip(org: records.RecordView, actor: Actor) -> None:
    contact = records.create(actor, "contacts", {
        "last_name": "Иванов", "first_name": "Иван", "middle_name": "Петрович",
        "organization": "ооо ромашка", "birthday": "31.12.1980", "is_decision_maker": "yes",
        "position": "Директор", "emails": ["ivanov@romashka.ru"], "tags": ["лпр"]})
    assert contact.title == "Иванов Иван Петрович"
    assert contact.values["organization"] == org.id
    assert contact.display["organization"] == "ООО Ромашка"
    assert contact.values["birthday"] == dt.date(1980, 12, 31)
    assert contact.values["is_decision_maker"] is True
    assert contact.tags == ["лпр"]

    task = records.create(actor, "tasks", {
        "title": "Позвонить", "due_at": "31.12.2026 10:00", "priority": "High",
        "organization": org.id, "contact": contact.id, "tags": ["срочно"]})
    assert task.values["due_at"] == dt.datetime(2026, 12, 31, 10, 0)
    assert task.values["priority"] == "high"
    assert task.values["status"] == "open"
    assert task.values["assignee"] == actor.user_id
    assert task.display["contact"] == "Иванов Иван Петрович"

    event = records.create(actor, "events", {
        "event_type": "call", "starts_at": "31.12.2026 10:00", "ends_at": "31.12.2026 10:30",
        "organization": org.id, "contact": contact.id, "result": "interested",
        "reminder_minutes": "15", "rrule": "FREQ=WEEKLY;COUNT=3"})
    call = m.EventType.get(m.EventType.code == "call")
    interested = m.EventResult.get((m.EventResult.event_type == call)
                                   & (m.EventResult.code == "interested"))
    assert event.values["event_type"] == call.id
    assert event.values["result"] == interested.id
    assert event.display["event_type"] == "Call"
    assert event.display["result"] == "Interested"
    assert event.values["ends_at"] == dt.datetime(2026, 12, 31, 10, 30)
    assert event.values["reminder_minutes"] == 15
    assert event.title == "Call: ООО Ромашка"

    note = records.create(actor, "notes", {"title": "Итоги встречи", "body": "Строка 1\nСтрока 2",
                                           "organization": org.id, "tags": ["встречи"]})
    assert note.values["body"] == "Строка 1\nСтрока 2"
    assert note.tags == ["встречи"]

    link = records.create(actor, "links", {"url": "example.com/login", "title": "Кабинет",
                                           "login": "romashka"})
    assert link.values["url"] == "https://example.com/login"
    assert link.title == "Кабинет"

    deal = records.create(actor, "deals", {"title": "Поставка", "organization": org.id,
                                           "amount": "1 234,50", "expected_close": "01.02.2027",
                                           "stage": "Proposal sent"})
    assert deal.values["amount"] == Decimal("1234.50")
    assert deal.display["amount"] == "1,234.50"
    assert deal.values["stage"] == "proposal"
    assert deal.values["expected_close"] == dt.date(2027, 2, 1)
    # Money keeps its places on every backend (SQLite would give back 1234.5).
    assert records.get(actor, "deals", deal.id).to_dict()["amount"] == "1234.50"

    payment = records.create(actor, "payments", {"date": "15.01.2027", "amount": "500",
                                                 "organization": org.id, "deal": "Поставка"})
    assert payment.values["deal"] == deal.id
    assert payment.values["amount"] == Decimal("500")
    assert payment.values["date"] == dt.date(2027, 1, 15)

    service = records.create(actor, "services", {"date": "16.01.2027", "amount": "300,10",
                                                 "units": "2,5", "organization": org.id,
                                                 "description": "Монтаж"})
    assert service.values["units"] == Decimal("2.5")
    assert records.get(actor, "services", service.id).to_dict()["units"] == "2.500"
    assert service.values["amount"] == Decimal("300.10")

    made = {"organizations": org, "contacts": contact, "tasks": task, "events": event,
            "notes": note, "links": link, "deals": deal, "payments": payment,
            "services": service}
    derived = {"last_contact_at", "next_contact_at"}  # follow the client's events
    for kind, view in made.items():
        again = records.get(actor, kind, view.id)
        assert {k: v for k, v in again.values.items() if k not in derived} == \
            {k: v for k, v in view.values.items() if k not in derived}, kind
        assert again.version == 1
        assert records.total(kind) == 1
        assert [r.id for r in records.list_records(actor, kind).rows] == [view.id]


EDITS = {
    "organizations": ("city", "Казань", "Казань"),
    "contacts": ("position", "Главбух", "Главбух"),
    "tasks": ("status", "done", "done"),
    "events": ("status", "done", "done"),
    "notes": ("body", "Новый текст", "Новый текст"),
    "links": ("login", "admin", "admin"),
    "deals": ("amount", "99,90", Decimal("99.90")),
    "payments": ("description", "Аванс", "Аванс"),
    "services": ("units", "3", Decimal("3")),
}


def _make(kind: str, actor: Actor, org_id: int) -> records.RecordView:
    data = {
        "organizations": {"name": "Альфа", "status": "client"},
        "contacts": {"last_name": "Сидоров"},
        "tasks": {"title": "Задача"},
        "events": {"event_type": "meeting", "starts_at": "01.03.2027 12:00"},
        "notes": {"title": "Заметка"},
        "links": {"url": "https://a.example"},
        "deals": {"title": "Сделка"},
        "payments": {"date": "01.03.2027", "amount": "10", "organization": org_id},
        "services": {"date": "01.03.2027", "organization": org_id},
    }[kind]
    return records.create(actor, kind, data)


@pytest.mark.parametrize("kind", list(EDITS))
def test_update_delete_restore_each_kind(kind: str, org: records.RecordView,
                                         actor: Actor) -> None:
    view = _make(kind, actor, org.id)
    field, typed, expected = EDITS[kind]
    old = view.values[field]
    updated = records.update(actor, kind, view.id, {field: typed}, expected_version=1)
    assert updated.version == 2
    assert updated.values[field] == expected
    assert records.get(actor, kind, view.id).values[field] == expected

    entries = audit.history(kind, view.id, action="update")
    shown_old = "" if old is None else str(old)
    if isinstance(expected, Decimal):  # the audit writes numbers in their plain form
        shown_old, shown_new = "0", format(expected.normalize(), "f")
    else:
        shown_new = str(expected)
    assert [(e.field, e.old, e.new, e.login) for e in entries] == [
        (field, shown_old, shown_new, actor.login)]

    before_total = records.total(kind)
    records.delete(actor, kind, view.id)
    gone = records.get(actor, kind, view.id)
    assert gone.deleted_at is not None
    assert gone.version == 3
    assert records.total(kind) == before_total - 1
    assert view.id not in [r.id for r in records.list_records(actor, kind).rows]
    trash = records.list_records(actor, kind, ListQuery(trash=True))
    assert [r.id for r in trash.rows] == [view.id]
    assert trash.total == 1
    with pytest.raises(NotFound):
        records.get(actor, kind, view.id, include_deleted=False)
    with pytest.raises(ValidationError) as err:
        records.update(actor, kind, view.id, {field: typed})
    assert list(err.value.errors) == ["id"]

    back = records.restore(actor, kind, view.id)
    assert back.deleted_at is None
    assert back.version == 4
    assert view.id in [r.id for r in records.list_records(actor, kind).rows]
    assert records.list_records(actor, kind, ListQuery(trash=True)).total == 0
    actions = [e.action for e in audit.history(kind, view.id)]
    assert actions == ["restore", "delete", "update", "create"]


def test_update_without_changes_keeps_version(org: records.RecordView, actor: Actor) -> None:
    same = records.update(actor, "organizations", org.id, {"city": "Москва"})
    assert same.version == 1
    assert audit.history("organizations", org.id, action="update") == []


def test_update_points_tags_and_primary(org: records.RecordView, actor: Actor) -> None:
    view = records.update(actor, "organizations", org.id, {
        "phones": ["fax:+7 495 000-00-00"], "emails": [], "tags": ["опт", "новый"]})
    assert [(p.type, p.normalized) for p in view.points_of("phone")] == [
        ("fax", "+74950000000")]
    assert view.points_of("email") == []
    assert [p.value for p in view.points_of("messenger")] == ["@Romashka_Bot"]
    assert view.values["primary_phone"] == "+7 495 000-00-00"
    assert view.values["primary_email"] == ""
    assert view.tags == ["новый", "опт"]
    changed = {e.field for e in audit.history("organizations", org.id, action="update")}
    assert changed == {"phones", "emails", "tags"}


def test_delete_and_restore_keep_search_in_step(org: records.RecordView, actor: Actor) -> None:
    assert [h.id for h in search.quick_search(actor, "ромашка")] == [org.id]
    records.delete(actor, "organizations", org.id)
    assert search.quick_search(actor, "ромашка") == []
    assert records.list_records(actor, "organizations", ListQuery(text="ромашка")).total == 0
    records.restore(actor, "organizations", org.id)
    assert [h.id for h in search.quick_search(actor, "ромашка")] == [org.id]
    assert records.list_records(actor, "organizations", ListQuery(text="ромашка")).total == 1


def test_unknown_ids_and_sections(db, actor: Actor) -> None:
    with pytest.raises(NotFound):
        records.get(actor, "organizations", 999)
    with pytest.raises(NotFound):
        records.update(actor, "organizations", 999, {"city": "x"})
    with pytest.raises(NotFound):
        records.delete(actor, "tasks", 999)
    with pytest.raises(NotFound):
        records.restore(actor, "tasks", 999)
    with pytest.raises(NotFound):
        records.list_records(actor, "nonsense")


# --- custom fields ----------------------------------------------------------------------------


@pytest.fixture
def custom(db, actor: Actor) -> None:
    settings.add_custom_field(actor, "organizations", "Код клиента", "text")
    settings.add_custom_field(actor, "organizations", "Лимит", "number")
    settings.add_custom_field(actor, "organizations", "Дата договора", "date")
    settings.add_custom_field(actor, "organizations", "Регион", "choice", ["Север", "Юг"])
    settings.add_custom_field(actor, "organizations", "Дилер", "bool")


def test_custom_fields_of_every_type(custom, actor: Actor) -> None:
    names = [f.name for f in records.field_specs("organizations") if f.custom]
    assert names == ["kod_klienta", "limit", "data_dogovora", "region", "diler"]
    view = records.create(actor, "organizations", {
        "name": "Бета", "status": "client", "kod_klienta": " B-17 ", "limit": "1 500,5",
        "data_dogovora": "01.02.2026", "region": "юг", "diler": "да"})
    assert view.custom == {"kod_klienta": "B-17", "limit": Decimal("1500.5"),
                           "data_dogovora": dt.date(2026, 2, 1), "region": "Юг",
                           "diler": True}
    assert view.get("limit") == Decimal("1500.5")
    assert view.display["diler"] == "yes"
    assert view.display["data_dogovora"] == "2026-02-01"
    again = records.get(actor, "organizations", view.id)
    assert again.custom == view.custom

    changed = records.update(actor, "organizations", view.id, {"region": "Север", "diler": False,
                                                              "kod_klienta": ""})
    assert changed.custom == {"limit": Decimal("1500.5"), "data_dogovora": dt.date(2026, 2, 1),
                              "region": "Север", "diler": False}
    entries = {e.field: (e.old, e.new) for e in
               audit.history("organizations", view.id, action="update")}
    assert entries == {"region": ("Юг", "Север"), "diler": ("True", "False"),
                       "kod_klienta": ("B-17", "")}


def test_custom_field_filters(custom, actor: Actor) -> None:
    a = records.create(actor, "organizations", {"name": "А", "status": "client", "region": "Юг",
                                                "limit": "5", "diler": "yes"})
    b = records.create(actor, "organizations", {"name": "Б", "status": "client",
                                                "region": "Север", "limit": "5.00"})

    def ids(**filters: object) -> list[int]:
        return [r.id for r in records.list_records(
            actor, "organizations", ListQuery(filters=filters)).rows]

    assert ids(region="юг") == [a.id]
    assert ids(region="Север") == [b.id]
    assert ids(limit="5,0") == [a.id, b.id]
    assert ids(diler="да") == [a.id]
    with pytest.raises(ValidationError) as err:
        ids(region="Запад")
    assert list(err.value.errors) == ["region"]


# --- listing ----------------------------------------------------------------------------------


@pytest.fixture
def many(db, actor: Actor) -> dict[str, int]:
    north = settings.add_group(actor, "organizations", "Север")
    spb = settings.add_group(actor, "organizations", "Петербург", parent=north)
    south = settings.add_group(actor, "organizations", "Юг")
    rows = [
        ("Яблоко", "client", north, ["vip"]),
        ("Абрикос", "lead", spb, []),
        ("Груша", "warm", south, ["vip"]),
        ("Вишня", "client", spb, ["опт"]),
        ("Банан", "lost", None, []),
    ]
    ids = {}
    for name, status, group, tags in rows:
        ids[name] = records.create(actor, "organizations", {
            "name": name, "status": status, "group": group, "tags": tags,
            "source": "Referral"}).id
    return ids | {"north": north, "spb": spb, "south": south}


def _names(page: records.Page) -> list[str]:
    return [r.title for r in page.rows]


def test_sort_both_ways_and_paging(many: dict[str, int], actor: Actor) -> None:
    asc = records.list_records(actor, "organizations", ListQuery(sort="name"))
    assert _names(asc) == ["Абрикос", "Банан", "Вишня", "Груша", "Яблоко"]
    assert asc.total == 5
    desc = records.list_records(actor, "organizations", ListQuery(sort="name", descending=True))
    assert _names(desc) == ["Яблоко", "Груша", "Вишня", "Банан", "Абрикос"]
    page2 = records.list_records(actor, "organizations", ListQuery(sort="name", offset=2,
                                                                    limit=2))
    assert _names(page2) == ["Вишня", "Груша"]
    assert page2.total == 5
    assert page2.offset == 2
    last = records.list_records(actor, "organizations", ListQuery(sort="name", offset=4,
                                                                   limit=2))
    assert _names(last) == ["Яблоко"]
    by_status = records.list_records(actor, "organizations", ListQuery(sort="status"))
    assert [r.values["status"] for r in by_status.rows] == [
        "client", "client", "lead", "lost", "warm"]
    assert records.row_ids(actor, "organizations", ListQuery(sort="name", descending=True)) == [
        many[n] for n in ("Яблоко", "Груша", "Вишня", "Банан", "Абрикос")]
    assert records.position_of(actor, "organizations", ListQuery(sort="name"),
                               many["Вишня"]) == 2


def test_nulls_sort_last_both_ways(db, actor: Actor) -> None:
    a = records.create(actor, "tasks", {"title": "a", "due_at": "01.01.2027 10:00"}).id
    b = records.create(actor, "tasks", {"title": "b"}).id
    c = records.create(actor, "tasks", {"title": "c", "due_at": "01.01.2026 10:00"}).id
    assert records.row_ids(actor, "tasks", ListQuery(sort="due_at")) == [c, a, b]
    assert records.row_ids(actor, "tasks", ListQuery(sort="due_at", descending=True)) == [a, c, b]


def test_filters(many: dict[str, int], actor: Actor) -> None:
    def names(**filters: object) -> list[str]:
        return _names(records.list_records(actor, "organizations",
                                           ListQuery(filters=filters, sort="name")))

    assert names(status="client") == ["Вишня", "Яблоко"]
    assert names(status=["lead", "lost"]) == ["Абрикос", "Банан"]
    assert names(status="Warm") == ["Груша"]
    assert names(group=many["north"]) == ["Абрикос", "Вишня", "Яблоко"]
    assert names(group="Петербург") == ["Абрикос", "Вишня"]
    assert names(group=many["south"]) == ["Груша"]
    assert names(tag="vip") == ["Груша", "Яблоко"]
    assert names(tags="опт", status="client") == ["Вишня"]
    assert names(owner=actor.user_id) == ["Абрикос", "Банан", "Вишня", "Груша", "Яблоко"]
    assert names(owner=actor.login) == ["Абрикос", "Банан", "Вишня", "Груша", "Яблоко"]
    assert names(status="") == ["Абрикос", "Банан", "Вишня", "Груша", "Яблоко"]
    assert records.count(actor, "organizations", ListQuery(filters={"status": "client"})) == 2
    assert records.count(actor, "organizations") == 5
    query = ListQuery(text="вишн", filters={"group": many["north"]})
    assert _names(records.list_records(actor, "organizations", query)) == ["Вишня"]


@pytest.mark.parametrize("filters, field", [
    ({"status": "nonsense"}, "status"),
    ({"phones": "1"}, "phones"),
    ({"nonsense": "1"}, "nonsense"),
    ({"group": "Нет такой"}, "group"),
    ({"owner": "nobody"}, "owner"),
    ({"next_contact_at": "32.13.2020"}, "next_contact_at"),
])
def test_bad_filters_are_validation_errors(many: dict[str, int], actor: Actor,
                                           filters: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        records.list_records(actor, "organizations", ListQuery(filters=filters))
    assert list(err.value.errors) == [field]


def test_text_filter_without_terms_lists_everything_or_nothing(many: dict[str, int],
                                                               actor: Actor) -> None:
    assert records.count(actor, "organizations", ListQuery(text="   ")) == 5
    assert records.list_records(actor, "organizations", ListQuery(text="zzzz")).total == 0
    assert records.row_ids(actor, "organizations", ListQuery(text="ябл")) == [many["Яблоко"]]


def test_references_by_name_id_case_and_yo(db, actor: Actor) -> None:
    elka = records.create(actor, "organizations", {"name": "Ёлочка", "status": "client"}).id
    records.create(actor, "organizations", {"name": "Двойник", "status": "client"})
    records.create(actor, "organizations", {"name": "двойник", "status": "client"})
    petrov = records.create(actor, "contacts", {"last_name": "Петров", "first_name": "Пётр",
                                                "middle_name": "Ильич"}).id
    records.create(actor, "contacts", {"last_name": "Петров", "first_name": "Иван"})
    for typed in ("Ёлочка", "ёлочка", "ЕЛОЧКА", "  елочка ", str(elka), f"#{elka}"):
        task = records.create(actor, "tasks", {"title": "t", "organization": typed})
        assert task.values["organization"] == elka, typed
    for typed in ("Петров Пётр", "петров петр", "ПЕТРОВ ПЁТР ИЛЬИЧ", str(petrov)):
        task = records.create(actor, "tasks", {"title": "t", "contact": typed})
        assert task.values["contact"] == petrov, typed
    cases = [
        ({"organization": "двойник"}, "organization",
         "Several organizations are called 'двойник'; give the id"),
        ({"organization": "Нет такой"}, "organization", "No organization called 'Нет такой'"),
        ({"contact": "Петров"}, "contact", "No contact called 'Петров'"),
        ({"contact": "Петров Сидор"}, "contact", "No contact called 'Петров Сидор'"),
        ({"organization": "12345"}, "organization", "No record with id 12345"),
    ]
    for data, field, message in cases:
        with pytest.raises(ValidationError) as err:
            records.create(actor, "tasks", {"title": "t", **data})
        assert err.value.errors == {field: message}
    # A record in the trash is not a valid reference by name.
    records.delete(actor, "organizations", elka)
    with pytest.raises(ValidationError):
        records.create(actor, "tasks", {"title": "t", "organization": "Ёлочка"})


def test_views_of_keeps_the_given_order_and_drops_what_is_gone(actor) -> None:
    """A page read through the table's row index: the order given, deleted records left out."""
    ids = [records.create(actor, "organizations", {"name": f"Org {n}",
                                                  "source": "Website"}).id for n in range(4)]
    records.delete(actor, "organizations", ids[1])
    wanted = [ids[3], ids[1], ids[0], 10_000_000]
    assert [v.id for v in records.views_of(actor, "organizations", wanted)] == [ids[3], ids[0]]
    assert records.row_ids(actor, "organizations", records.ListQuery(sort="name",
                                                                     descending=True)) == \
        [ids[3], ids[2], ids[0]]


def test_an_analyzed_base_walks_the_name_index_for_the_first_page(tmp_path) -> None:
    """No index added for another screen may take over the lists: on an analyzed SQLite
    base the default page of organizations reads the name index, with no sort of the table."""
    from tui_crm.db import models as m
    from tui_crm.db import open_database
    from tui_crm.db.migrations import m0008_followup_index
    from tui_crm.services.core import users
    from tui_crm.services.ops import demo

    database = open_database(tmp_path / "plan.sqlite3")
    demo.generate(orgs=300, contacts=0, events=300, payments=0)
    # A base analyzed before the follow-up index existed, then upgraded.
    database.execute_sql("DROP INDEX organization_followup")
    database.execute_sql("ANALYZE")
    m0008_followup_index.apply(database)
    actor = users.resolve_actor()
    spec = records.kind_spec("organizations")
    query = (m.Organization.select().where(m.Organization.deleted_at.is_null())
             .order_by(*records.list_order(spec, records.ListQuery())).limit(100))
    sql, params = query.sql()
    plan = " ".join(row[-1] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql,
                                                            params))
    assert "organization_name" in plan and "TEMP B-TREE" not in plan
    assert records.list_records(actor, "organizations").total == 300
    database.close()
