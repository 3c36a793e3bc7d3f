"""Money on the organization card and the deals board: purchase frequency, average and last
payment, category history, stage moves in the audit trail, quick payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tui_crm.db import models as m
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.services.analytics import money
from tui_crm.services.core import audit, records, users
from tui_crm.services.core.rights import Actor

TODAY = dt.date(2026, 6, 15)


def org(actor: Actor, name: str, **extra: object) -> int:
    data = {"name": name, "status": "client"}
    data.update(extra)
    return records.create(actor, "organizations", data).id


def pay(actor: Actor, org_id: int, day: dt.date, amount: str) -> None:
    records.create(actor, "payments", {"date": day, "amount": amount, "organization": org_id})


def d(year: int, month: int, day: int = 10) -> dt.date:
    return dt.date(year, month, day)


@pytest.mark.parametrize(("days", "expected"), [
    ([], "none"),
    ([d(2026, 3)], "one_off"),
    ([d(2026, 3, 1), d(2026, 3, 20)], "one_off"),  # one purchase month
    ([d(2026, 4), d(2026, 5), d(2026, 6)], "regular"),  # every month since the first
    ([d(2025, 7), d(2025, 9), d(2025, 11), d(2026, 1), d(2026, 3), d(2026, 5)], "regular"),
    ([d(2025, 7), d(2026, 1)], "rare"),  # 1 payment month in the last 12 … 2 of 12
    ([d(2024, 1), d(2024, 2), d(2024, 3)], "rare"),  # regular once, silent for two years
])
def test_purchase_frequency(days: list[dt.date], expected: str) -> None:
    assert money.frequency(days, TODAY) == expected


def test_summary_on_the_card(db, actor: Actor) -> None:
    oid = org(actor, "Ромашка")
    pay(actor, oid, d(2026, 4, 2), "1000.00")
    pay(actor, oid, d(2026, 5, 2), "3000.50")
    pay(actor, oid, d(2026, 6, 1), "2000.00")
    records.create(actor, "services", {"date": d(2026, 5, 3), "amount": "700",
                                       "units": "2.5", "organization": oid})
    records.create(actor, "deals", {"title": "Big", "organization": oid, "amount": "9000",
                                    "stage": "negotiation"})
    records.update(actor, "organizations", oid, {"category": "good"})
    records.update(actor, "organizations", oid, {"category": "vip"})
    s = money.summary(actor, oid, today=TODAY)
    assert (s.payments_count, s.payments_total) == (3, Decimal("6000.50"))
    assert s.average_payment == Decimal("2000.17")
    assert (s.first_payment, s.last_payment, s.last_amount) == (
        d(2026, 4, 2), d(2026, 6, 1), Decimal("2000.00"))
    assert s.frequency == "regular" and s.frequency_text == "regular"
    assert (s.services_total, s.services_units) == (Decimal("700.00"), Decimal("2.500"))
    assert (s.open_deals, s.open_deals_amount) == (1, Decimal("9000.00"))
    assert s.category == "vip" and s.category_text == "VIP"
    assert [(c.old, c.new) for c in s.category_history] == [("good", "vip"), ("none", "good")]
    assert s.by_month[-1] == ("2026-06", Decimal("2000.00")) and len(s.by_month) == 12
    data = s.to_dict()
    assert data["payments_total"] == 6000.5 and data["last_payment"] == "2026-06-01"
    assert money.frequencies([oid], TODAY) == {oid: "regular"}


def test_stages_move_forward_with_history(db, actor: Actor) -> None:
    oid = org(actor, "Лютик")
    deal = records.create(actor, "deals", {"title": "Supply", "organization": oid,
                                           "amount": "5000"})
    seen = []
    for _step in range(4):
        seen.append(money.move_stage(actor, deal.id).values["stage"])
    assert seen == ["proposal", "negotiation", "invoice", "won"]
    with pytest.raises(ValidationError):
        money.move_stage(actor, deal.id)  # won has no next stage
    moves = money.stage_moves(dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1))
    assert [(mv.old, mv.new, mv.login) for mv in moves] == [
        ("new", "proposal", actor.login), ("proposal", "negotiation", actor.login),
        ("negotiation", "invoice", actor.login), ("invoice", "won", actor.login)]
    assert [mv.deal_id for mv in money.stage_moves(dt.datetime(2000, 1, 1),
                                                   dt.datetime(2100, 1, 1), stage="invoice")] \
        == [deal.id]
    assert money.next_stage("lost") is None and money.previous_stage("invoice") == "negotiation"


def test_lost_needs_a_reason(db, actor: Actor) -> None:
    deal = records.create(actor, "deals", {"title": "Maybe", "organization": org(actor, "X")})
    with pytest.raises(ValidationError) as caught:
        money.move_stage(actor, deal.id, "lost")
    assert "lost_reason" in caught.value.errors
    view = money.move_stage(actor, deal.id, "lost", lost_reason="Too expensive")
    assert (view.values["stage"], view.values["lost_reason"]) == ("lost", "Too expensive")
    with pytest.raises(ValidationError):
        money.move_stage(actor, deal.id, "paid")
    entries = audit.history("deals", deal.id)
    assert any(e.field == "stage" and e.new == "lost" for e in entries)


def test_a_payment_makes_a_client_and_closes_an_invoice(db, actor: Actor) -> None:
    oid = org(actor, "Lead Ltd", status="lead", source="Website")
    deal = records.create(actor, "deals", {"title": "Order", "organization": oid,
                                           "amount": "1000", "stage": "invoice"})
    money.add_payment(actor, amount="400", deal_id=deal.id, today=TODAY)
    assert m.Organization.get_by_id(oid).status == "client"
    assert m.Deal.get_by_id(deal.id).stage == "invoice"  # not paid in full yet
    payment = money.add_payment(actor, oid, "600,00", date="16.06.2026", deal_id=deal.id)
    assert payment.values["date"] == dt.date(2026, 6, 16)
    assert m.Deal.get_by_id(deal.id).stage == "won"
    with pytest.raises(ValidationError):
        money.add_payment(actor, oid, "")
    with pytest.raises(ValidationError):
        money.add_payment(actor, None, "10")


def test_board_by_stage_respects_visibility(db, actor: Actor) -> None:
    users.add_user(actor, "anna", role="manager")
    anna = users.actor_for("anna")
    mine = org(actor, "Mine", owner=anna.user_id)
    records.create(actor, "deals", {"title": "A1", "organization": mine, "stage": "new",
                                    "owner": anna.user_id, "amount": "100"})
    paid = records.create(actor, "deals", {"title": "A2", "organization": mine,
                                           "stage": "invoice", "owner": anna.user_id,
                                           "amount": "300"})
    records.create(actor, "deals", {"title": "Admin's", "organization": org(actor, "Other"),
                                    "stage": "new", "amount": "50"})
    money.add_payment(actor, mine, "100", deal_id=paid.id, today=TODAY)
    board = money.board(anna)
    assert [c.title for c in board["new"]] == ["A1"]
    card = board["invoice"][0]
    assert (card.title, card.amount, card.paid, card.organization) == (
        "A2", Decimal("300.00"), Decimal("100.00"), "Mine")
    assert sorted(c.title for c in money.board(actor)["new"]) == ["A1", "Admin's"]
    other = m.Deal.get(m.Deal.title == "Admin's")
    with pytest.raises(PermissionDenied):
        money.move_stage(anna, other.id)
