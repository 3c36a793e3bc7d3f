"""The duplicate scan of the whole base and merging two records field by field."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_importing import run_cli
from tui_crm.errors import ValidationError
from tui_crm.services.core import audit, records, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import merging
from tui_crm.services.search import search


@pytest.fixture
def pair(db, actor: Actor) -> tuple[records.RecordView, records.RecordView]:
    keep = records.create(actor, "organizations", {
        "name": "ООО Ромашка", "source": "Website", "city": "Москва",
        "phones": ["+7 916 123-45-67"], "tags": ["опт"], "notes": "Старый клиент"})
    other = records.create(actor, "organizations", {
        "name": "Ромашка ООО", "source": "Website", "city": "Москва", "inn": "7707083893",
        "phones": ["8 916 123 45 67", "+7 495 000-00-01"], "emails": ["r@r.ru"],
        "tags": ["vip"], "notes": "Звонить после обеда", "address": "ул. Ленина, 1"})
    return keep, other


def test_scan_finds_phone_tax_id_and_name_duplicates(pair, db, actor: Actor) -> None:
    keep, other = pair
    records.create(actor, "organizations", {"name": "Торговый дом Лютик-Трейд",
                                            "source": "Website", "city": "Тверь"})
    records.create(actor, "organizations", {"name": "Торговый дом Лютик Трейд",
                                            "source": "Website", "city": "Тверь"})
    records.create(actor, "organizations", {"name": "Торговый дом Лютик Трейд",
                                            "source": "Website", "city": "Казань"})
    records.create(actor, "organizations", {"name": "Совсем другое", "source": "Website",
                                            "inn": "7707083893"})
    records.create(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван",
                                       "organization": keep.id})
    records.create(actor, "contacts", {"last_name": "иванов", "first_name": "Иван",
                                       "organization": keep.id})
    found = merging.scan(actor)
    described = {(p.kind, p.keep_id, p.other_id): p.reasons for p in found}
    assert described[("organizations", keep.id, other.id)] == ["phone", "name"]
    assert described[("organizations", other.id, 6)] == ["tax id"]
    assert described[("organizations", 3, 4)] == ["similar name"]
    assert ("organizations", 3, 5) not in described and ("organizations", 4, 5) not in described
    assert described[("contacts", 1, 2)] == ["name and company"]
    assert found[0].score >= found[-1].score
    assert merging.scan(actor, "contacts")[0].keep_title == "Иванов Иван"


def test_merge_keeps_both_histories(pair, db, actor: Actor) -> None:
    keep, other = pair
    contact = records.create(actor, "contacts", {"last_name": "Петров",
                                                 "organization": other.id})
    event = records.create(actor, "events", {"event_type": "call", "organization": other.id,
                                             "starts_at": "2026-01-10 10:00", "status": "done"})
    deal = records.create(actor, "deals", {"title": "Поставка", "organization": other.id})
    records.create(actor, "notes", {"title": "Заметка", "organization": other.id})
    fields = {f.name: f for f in merging.compare(actor, "organizations", keep.id, other.id)}
    assert fields["name"].choice == "keep" and fields["inn"].choice == "other"
    assert fields["notes"].choice == "both" and fields["phones"].choice == "both"
    result = merging.merge(actor, "organizations", keep.id, other.id, {"name": "other"})
    view = result.record
    assert view.values["name"] == "Ромашка ООО"
    assert view.values["inn"] == "7707083893" and view.values["address"] == "ул. Ленина, 1"
    assert view.values["notes"] == "Старый клиент\nЗвонить после обеда"
    assert sorted(p.normalized for p in view.points_of("phone")) == ["+74950000001",
                                                                    "+79161234567"]
    assert [p.normalized for p in view.points_of("email")] == ["r@r.ru"]
    assert view.tags == ["vip", "опт"]
    assert result.moved == {"contacts": 1, "events": 1, "notes": 1, "deals": 1}
    assert records.get(actor, "contacts", contact.id).values["organization"] == keep.id
    assert records.get(actor, "events", event.id).values["organization"] == keep.id
    assert records.get(actor, "deals", deal.id).values["organization"] == keep.id
    assert view.values["last_contact_at"] is not None  # the moved call counts
    assert records.get(actor, "organizations", other.id).deleted_at is not None
    assert [h.id for h in search.quick_search(actor, "Поставка")] == [deal.id]
    entries = audit.history("organizations", keep.id, action="merge")
    assert json.loads(entries[0].details)["merged"] == other.id
    assert not [p for p in merging.scan(actor) if other.id in (p.keep_id, p.other_id)]


def test_merge_refuses_nonsense(pair, db, actor: Actor) -> None:
    keep, other = pair
    with pytest.raises(ValidationError):
        merging.merge(actor, "organizations", keep.id, keep.id)
    with pytest.raises(ValidationError):
        merging.merge(actor, "organizations", keep.id, other.id, {"name": "mine"})
    with pytest.raises(ValidationError):
        merging.merge(actor, "events", 1, 2)
    users.add_user(actor, "viewer1", role="viewer")
    from tui_crm.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        merging.merge(users.actor_for("viewer1"), "organizations", keep.id, other.id)


def test_cli_dedupe_and_merge(pair, db, actor: Actor, capsys) -> None:
    keep, other = pair
    code, text = run_cli(["dedupe", "--json"], actor, capsys)
    assert json.loads(text)[0]["keep_id"] == keep.id
    code, text = run_cli(["merge", "orgs", str(keep.id), str(other.id), "--dry-run"], actor,
                         capsys)
    assert "Ромашка ООО" in text and records.get(actor, "organizations", other.id)
    code, text = run_cli(["merge", "organizations", str(keep.id), str(other.id), "--take",
                          "city=keep"], actor, capsys)
    assert code == 0 and "is in the trash" in text
