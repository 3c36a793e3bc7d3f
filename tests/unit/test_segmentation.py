"""Client categories by the seed's method, on hand-computed data sets: the seed's own example
(65 paying clients → 13 VIP), rounding, ties at the cut, both second-tier schemes, ABC
boundaries, the month-by-month VIP table, Pareto figures, overlap, fell-out and potential
VIPs, applying to the organizations' category — and the trigger-kept monthly summaries
agreeing with a plain GROUP BY after every kind of change."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from tui_crm.db import models as m
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.services.analytics import client_values
from tui_crm.services.analytics import segmentation as seg
from tui_crm.services.analytics import tiers as tier_rules
from tui_crm.services.core import audit, records, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.planning import followups

# --- the rules on plain numbers ---------------------------------------------------------------


@pytest.mark.parametrize(("n", "expected"), [
    (0, 0), (1, 1), (2, 1), (3, 1), (5, 1), (7, 1), (8, 2), (12, 2), (13, 3), (65, 13),
    (100, 20), (101, 20), (103, 21)])
def test_twenty_percent_rounded_half_up_at_least_one(n: int, expected: int) -> None:
    assert tier_rules.top_count(n) == expected


def test_rounding_halves_go_up_with_another_share() -> None:
    # 25 % of 10 = 2.5 → 3; 25 % of 6 = 1.5 → 2; 25 % of 2 = 0.5 → 1
    assert [tier_rules.top_count(n, Decimal("0.25")) for n in (10, 6, 2)] == [3, 2, 1]


def ranked(*values: int) -> list[tuple[int, int]]:
    """Ids 1, 2, … in the given order (already best first)."""
    return [(i, v) for i, v in enumerate(values, start=1)]


def ids(rows: list[tuple[int, int]]) -> list[int]:
    return [i for i, _v in rows]


def test_lenient_splits_vip_good_regular() -> None:
    items = ranked(*range(650, 0, -10))  # 65 distinct values
    tiers, ties = tier_rules.assign_tiers(items, "lenient")
    assert [len(tiers[t]) for t in ("vip", "good", "regular")] == [13, 10, 42]
    assert ids(tiers["vip"]) == list(range(1, 14))
    assert ids(tiers["good"]) == list(range(14, 24))
    assert ties == []


def test_strict_cuts_the_bottom_twenty_percent_as_difficult() -> None:
    items = ranked(*range(100, 0, -10))  # 10 clients
    tiers, ties = tier_rules.assign_tiers(items, "strict")
    assert ids(tiers["vip"]) == [1, 2]
    assert ids(tiers["regular"]) == [3, 4, 5, 6, 7, 8]
    assert ids(tiers["difficult"]) == [9, 10]
    assert ties == []


def test_ties_at_the_vip_cut_all_go_up_and_are_reported() -> None:
    items = ranked(100, 80, 80, 80, 70, 60, 50, 40, 30, 20)  # 20 % of 10 = 2; cut inside 80s
    tiers, ties = tier_rules.assign_tiers(items, "lenient")
    assert ids(tiers["vip"]) == [1, 2, 3, 4]
    assert ties == [tier_rules.Tie("vip", 80, 2, 4, 3)]
    # good: 20 % of the other 6 = 1
    assert ids(tiers["good"]) == [5]
    message = seg.tie_message(ties[0])
    assert "3 clients tie at 80" in message and "4 clients instead of 2" in message


def test_ties_at_the_difficult_cut_stay_regular() -> None:
    items = ranked(100, 90, 80, 70, 60, 50, 40, 20, 20, 10)  # bottom 2 = the second 20 and 10
    tiers, ties = tier_rules.assign_tiers(items, "strict")
    assert ids(tiers["difficult"]) == [10]
    assert ids(tiers["regular"]) == [3, 4, 5, 6, 7, 8, 9]
    assert ties == [tier_rules.Tie("difficult", 20, 2, 1, 2)]


def test_ties_at_the_good_cut_go_up() -> None:
    items = ranked(100, 90, 80, 70, 70, 60, 50, 40, 30, 20, 10, 5)  # vip 2, good 2 of 10
    tiers, ties = tier_rules.assign_tiers(items, "lenient")
    assert ids(tiers["good"]) == [3, 4, 5]
    assert ties == [tier_rules.Tie("good", 70, 2, 3, 2)]


@pytest.mark.parametrize(("n", "lenient", "strict"), [
    (1, (1, 0, 0), (1, 0, 0)),
    (2, (1, 1, 0), (1, 0, 1)),
    (7, (1, 1, 5), (1, 5, 1)),
    (12, (2, 2, 8), (2, 8, 2)),
])
def test_small_bases(n: int, lenient: tuple, strict: tuple) -> None:
    items = ranked(*range(n * 10, 0, -10))
    tiers, _ties = tier_rules.assign_tiers(items, "lenient")
    assert tuple(len(tiers[t]) for t in ("vip", "good", "regular")) == lenient
    tiers, _ties = tier_rules.assign_tiers(items, "strict")
    assert tuple(len(tiers[t]) for t in ("vip", "regular", "difficult")) == strict


def test_abc_by_cumulative_share_before_the_client() -> None:
    # shares before each: 0, .50, .80, .95 → A, A, B, C (80 % and 95 % are not "below")
    tiers, _ties = tier_rules.assign_tiers(ranked(50, 30, 15, 5), "abc")
    assert (ids(tiers["A"]), ids(tiers["B"]), ids(tiers["C"])) == ([1, 2], [3], [4])
    tiers, _ties = tier_rules.assign_tiers(ranked(50, 30, 15, 5), "abc",
                                    abc=(Decimal("0.5"), Decimal("0.9")))
    assert (ids(tiers["A"]), ids(tiers["B"]), ids(tiers["C"])) == ([1], [2, 3], [4])


def test_abc_keeps_equal_values_together_in_the_upper_class() -> None:
    # 79, 10, 10, 1: the second 10 starts at 89 % (B by share) but ties with an A client
    tiers, _ties = tier_rules.assign_tiers(ranked(79, 10, 10, 1), "abc")
    assert (ids(tiers["A"]), ids(tiers["B"]), ids(tiers["C"])) == ([1, 2, 3], [], [4])


def test_an_unknown_scheme_is_named_in_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        tier_rules.assign_tiers(ranked(5, 4), "vip-only")
    assert "lenient" in caught.value.errors["scheme"]


def test_abc_thresholds_are_checked() -> None:
    with pytest.raises(ValidationError):
        tier_rules.assign_tiers(ranked(5, 4), "abc", abc=(Decimal("0.9"), Decimal("0.8")))


def test_pareto_figures_hand_computed() -> None:
    items = ranked(50, 20, 10, 5, 5, 4, 3, 1, 1, 1)  # total 100
    figures = {f.key: f for f in tier_rules.pareto(items, vip_size=2)}
    assert (figures["top20"].clients, figures["top20"].clients_pct,
            figures["top20"].value_pct) == (2, 20.0, 70.0)
    assert (figures["to80"].clients, figures["to80"].clients_pct,
            figures["to80"].value_pct) == (3, 30.0, 80.0)
    curve = tier_rules.curve(items, points=10)
    assert curve[0] == (0.0, 0.0) and curve[-1] == (100.0, 100.0) and curve[2] == (20.0, 70.0)


def test_periods() -> None:
    assert tier_rules.parse_period("2026-01") == ["2026-01"]
    assert tier_rules.parse_period("2025-11..2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert tier_rules.parse_period("03.2026") == ["2026-03"]
    for bad in ("", "2026-13", "январь", "2026-03..2026-01", "2000-01..2030-01"):
        with pytest.raises(ValidationError):
            tier_rules.parse_period(bad)


# --- on a database ----------------------------------------------------------------------------


def org(actor: Actor, name: str, **extra: object) -> int:
    data = {"name": name, "status": "client"}
    data.update(extra)
    return records.create(actor, "organizations", data).id


def pay(actor: Actor, org_id: int, day: str, amount: str | int) -> int:
    return records.create(actor, "payments", {"date": day, "amount": str(amount),
                                              "organization": org_id}).id


def serve(actor: Actor, org_id: int, day: str, amount: str | int, units: str | int) -> int:
    return records.create(actor, "services", {"date": day, "amount": str(amount),
                                              "units": str(units), "organization": org_id}).id


def split(total: Decimal, parts: int) -> list[Decimal]:
    share = (total / parts).quantize(Decimal("0.01"))
    return [share] * (parts - 1) + [total - share * (parts - 1)]


@pytest.fixture
def seed_example(db, actor: Actor) -> dict[str, list[int]]:
    """The seed's January: 100 paid invoices for 150 000 from 65 companies; the top 13 paid
    120 000 (the seed's "20 % of companies: 13, their payments: 120 000")."""
    vip_totals = [Decimal(8000 + 100 * i) for i in range(12)] + [Decimal(17400)]
    other_totals = [Decimal(300 + 10 * j) for j in range(51)] + [Decimal(1950)]
    assert sum(vip_totals) == 120000 and sum(other_totals) == 30000
    vips, others = [], []
    payments = 0
    for i, total in enumerate(vip_totals):
        oid = org(actor, f"VIP {i:02d}")
        vips.append(oid)
        for n, amount in enumerate(split(total, 3 if i < 9 else 2)):
            pay(actor, oid, f"2026-01-{n + 10:02d}", amount)
            payments += 1
    for j, total in enumerate(other_totals):
        oid = org(actor, f"Client {j:02d}")
        others.append(oid)
        for n, amount in enumerate(split(total, 2 if j < 13 else 1)):
            pay(actor, oid, f"2026-01-{n + 20:02d}", amount)
            payments += 1
    assert payments == 100
    org(actor, "Never paid")
    return {"vip": vips, "others": others}


def test_the_seed_example(seed_example: dict[str, list[int]], actor: Actor) -> None:
    result = seg.segment(actor, "payments", "2026-01", "lenient")
    assert result.paying_clients == 65
    assert result.total == 150000
    vip = result.tiers["vip"]
    assert len(vip) == 13
    assert sorted(r.id for r in vip) == sorted(seed_example["vip"])
    assert vip[0].name == "VIP 12" and vip[0].value == 17400 and vip[0].rank == 1
    assert sum(r.value for r in vip) == 120000
    assert len(result.tiers["good"]) == 10 and len(result.tiers["regular"]) == 42
    top20 = result.pareto[0]
    assert (top20.clients, top20.clients_pct, top20.value_pct) == (13, 20.0, 80.0)
    assert result.pareto_messages()[0] == "20.0 % of clients (13) bring 80.0 % of the payment sum"
    assert result.ties == []
    # per VIP per month: 120 000 / 13 paid, 35 payments / 13
    assert result.vip_average["payments"] == pytest.approx(9230.769, abs=0.001)
    assert result.vip_average["count"] == pytest.approx(35 / 13, abs=0.001)
    # By number of payments: 9 clients paid three times, 17 twice, 39 once. The 13th place
    # is inside the "twice" group, so all 26 are VIP; the bottom 13 are inside the "once"
    # group, so nobody is difficult — and the result says both.
    by_count = seg.segment(actor, "count", "2026-01", "strict")
    assert by_count.paying_clients == 65
    assert [len(by_count.tiers[t]) for t in ("vip", "regular", "difficult")] == [26, 39, 0]
    assert by_count.ties == [tier_rules.Tie("vip", 2, 13, 26, 17), tier_rules.Tie("difficult", 1, 13, 0, 39)]


def test_the_top_rows_are_the_tiers_first_rows_named_alone(
        seed_example: dict[str, list[int]], actor: Actor) -> None:
    """What the Categories table shows: the first n ranked clients across tiers, with the
    names `tiers` gives them — without naming every paying client (a large base's tiers
    hold all of them)."""
    result = seg.segment(actor, "payments", "2026-01", "lenient")
    top = result.top(20)
    assert result._tiers is None and len(result.book.names) == 20
    everyone = [(tier, r) for tier, rows in result.tiers.items() for r in rows]
    assert top == everyone[:20]
    assert [r.rank for _t, r in top] == list(range(1, 21))
    assert {t for t, _r in top} == {"vip", "good"}
    assert result.top(1000) == everyone  # and from the named tiers once they exist


def test_clients_without_value_get_no_tier(db, actor: Actor) -> None:
    a, b, c = org(actor, "A"), org(actor, "B"), org(actor, "C")
    pay(actor, a, "2026-01-05", 100)
    pay(actor, b, "2026-02-05", 100)  # another month
    result = seg.segment(actor, "payments", "2026-01")
    assert result.assignments() == {a: "vip"}
    assert result.tier_of(b) is None and result.tier_of(c) is None


@pytest.mark.parametrize("n", [1, 2, 7, 12])
def test_rounding_cases_on_the_database(db, actor: Actor, n: int) -> None:
    for i in range(n):
        pay(actor, org(actor, f"O{i}"), "2026-03-01", 1000 - i)
    result = seg.segment(actor, "payments", "2026-03", "strict")
    assert len(result.tiers["vip"]) == {1: 1, 2: 1, 7: 1, 12: 2}[n]
    assert len(result.tiers["difficult"]) == {1: 0, 2: 1, 7: 1, 12: 2}[n]


def test_ties_on_the_database_are_in_the_result(db, actor: Actor) -> None:
    for i, amount in enumerate((100, 80, 80, 80, 70, 60, 50, 40, 30, 20)):
        pay(actor, org(actor, f"T{i}"), "2026-03-01", amount)
    result = seg.segment(actor, "payments", "2026-03")
    assert len(result.tiers["vip"]) == 4
    data = result.to_dict()
    assert data["ties"][0]["tier"] == "vip" and data["ties"][0]["expected"] == 2
    assert data["ties"][0]["actual"] == 4 and data["ties"][0]["value"] == 80


@pytest.fixture
def months_base(db, actor: Actor) -> dict[str, int]:
    """Five clients over three months; 20 % of 5 = 1 VIP a month.

    Jan: A 100, B 50, C 40, D 30, E 20 → A.   Feb: B 200, A 60, C, D, E → B (A dropped).
    Mar: B 150, A 140, C, D, E → B.           Apr: only C pays.
    """
    ids = {name: org(actor, name) for name in "ABCDEF"}
    table = {"2026-01": {"A": 100, "B": 50, "C": 40, "D": 30, "E": 20},
             "2026-02": {"B": 200, "A": 60, "C": 40, "D": 30, "E": 20},
             "2026-03": {"B": 150, "A": 140, "C": 40, "D": 30, "E": 20},
             "2026-04": {"C": 40}}
    for month, row in table.items():
        for name, amount in row.items():
            pay(actor, ids[name], f"{month}-15", amount)
    return ids


def test_month_by_month_entered_and_dropped(months_base: dict[str, int], actor: Actor) -> None:
    ids = months_base
    result = seg.segment(actor, "payments", "2026-01..2026-03", per_month=True)
    months = {mv.month: mv for mv in result.monthly}
    assert [r.id for r in months["2026-01"].vip] == [ids["A"]]
    assert [r.id for r in months["2026-01"].entered] == [ids["A"]]  # December had no VIP
    assert months["2026-01"].dropped == []
    assert [r.id for r in months["2026-02"].entered] == [ids["B"]]
    dropped = months["2026-02"].dropped
    assert [(r.id, r.value, r.previous) for r in dropped] == [(ids["A"], 60, 100)]
    assert months["2026-03"].entered == [] and months["2026-03"].dropped == []
    assert [(u.id, u.months_vip, u.value) for u in result.union] == [
        (ids["B"], 2, 400), (ids["A"], 1, 300)]
    data = result.to_dict()
    assert [mv["month"] for mv in data["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert data["months"][1]["dropped"][0] == {"id": ids["A"], "name": "A", "value": 60,
                                               "previous": 100}
    assert months["2026-01"].paying_clients == 5 and months["2026-01"].total == 240
    assert months["2026-01"].vip_value_pct == pytest.approx(41.7)


def test_fell_out_of_vip(months_base: dict[str, int], actor: Actor) -> None:
    ids = months_base
    feb = seg.segment(actor, "payments", "2026-02")
    assert [(r.id, r.value, r.previous) for r in feb.fell_out] == [(ids["A"], 60, 100)]
    april = seg.segment(actor, "payments", "2026-04")  # B was VIP in March and paid nothing
    assert [(r.id, r.value, r.previous) for r in april.fell_out] == [(ids["B"], 0, 150)]
    assert seg.segment(actor, "payments", "2026-03").fell_out == []


def test_potential_vip_reaches_the_vip_average(months_base: dict[str, int],
                                               actor: Actor) -> None:
    ids = months_base
    # Over Jan–Mar: B 400 is the VIP (20 % of 5); its average is 400 / 3 ≈ 133.3 a month.
    # F is new in March with 134: not VIP over the span, but a potential one. A paid 140 in
    # March and is potential too; C (40) is not.
    pay(actor, ids["F"], "2026-03-20", 134)
    result = seg.segment(actor, "payments", "2026-01..2026-03")
    assert [r.id for r in result.tiers["vip"]] == [ids["B"]]
    assert result.vip_average["payments"] == pytest.approx(133.333, abs=0.001)
    assert [(r.id, r.value) for r in result.potential_vip] == [(ids["A"], 140), (ids["F"], 134)]


def test_overlap_of_two_criteria_and_averages(db, actor: Actor) -> None:
    # 10 clients; by payments the top 2 are P1, P2; by services P1 and P5.
    ids = [org(actor, f"P{i}") for i in range(1, 11)]
    for n, oid in enumerate(ids):
        pay(actor, oid, "2026-05-02", 1000 - 50 * n)
        serve(actor, oid, "2026-05-03", 900 if n in (0, 4) else 100 + n, 10 if n == 0 else 1)
    result = seg.overlap(actor, "2026-05", "payments", "services")
    assert result.a == [ids[0], ids[1]] and sorted(result.b) == sorted([ids[0], ids[4]])
    assert result.common == [ids[0]]
    assert (result.pct_of_a, result.pct_of_b, result.jaccard_pct) == (50.0, 50.0, 33.3)
    seg_result = seg.segment(actor, "payments", "2026-05")
    averages = seg_result.vip_average
    assert averages["payments"] == pytest.approx(975.0)  # (1000 + 950) / 2
    assert averages["count"] == pytest.approx(1.0)
    assert averages["services"] == pytest.approx((900 + 101) / 2)
    assert averages["units"] == pytest.approx((10 + 1) / 2)
    units = seg.segment(actor, "units", "2026-05")
    assert units.tiers["vip"][0].id == ids[0] and units.tiers["vip"][0].value == 10


def test_deleted_organizations_and_payments_do_not_count(db, actor: Actor) -> None:
    a, b = org(actor, "Alive"), org(actor, "Gone")
    pay(actor, a, "2026-06-01", 100)
    pay(actor, b, "2026-06-01", 500)
    removed = pay(actor, a, "2026-06-02", 1000)
    records.delete(actor, "payments", removed)
    records.delete(actor, "organizations", b)
    result = seg.segment(actor, "payments", "2026-06")
    assert result.assignments() == {a: "vip"} and result.total == 100


def test_bad_input_is_a_validation_error(db, actor: Actor) -> None:
    with pytest.raises(ValidationError):
        seg.segment(actor, "profit", "2026-01")
    with pytest.raises(ValidationError):
        seg.segment(actor, "payments", "2026-01", "vip-only")
    with pytest.raises(ValidationError):
        seg.segment(actor, "payments", "Jan")
    with pytest.raises(ValidationError):
        seg.segment(actor, "payments", "2026-01", share="1.5")


def test_summaries_match_a_plain_group_by_after_every_change(tmp_path) -> None:
    """Insert, edit amount/date/organization/units, soft delete, restore, hard delete: the
    trigger-kept summaries answer exactly what one GROUP BY over the payments answers.
    (SQLite only: PostgreSQL has no summary tables and always runs the GROUP BY.)"""
    from tui_crm.db import open_database
    from tui_crm.services.core import users

    open_database(tmp_path / "summaries.sqlite3")
    actor = users.resolve_actor()
    rng = random.Random(5)
    ids = [org(actor, f"R{i}") for i in range(30)]
    payments, services = [], []
    for _n in range(150):
        day = f"2026-{rng.randint(1, 4):02d}-{rng.randint(1, 28):02d}"
        amount = f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}"
        payments.append(pay(actor, rng.choice(ids), day, amount))
        services.append(serve(actor, rng.choice(ids), day, rng.randint(100, 900),
                              f"{rng.randint(1, 5)}.5"))
    for pid in payments[:10]:
        records.update(actor, "payments", pid, {"amount": "123.45"})
    for pid in payments[10:20]:
        records.update(actor, "payments", pid, {"date": "2026-04-30"})
    for pid in payments[20:30]:
        records.update(actor, "payments", pid, {"organization": ids[0]})
    for pid in payments[30:40]:
        records.delete(actor, "payments", pid)
    for pid in payments[30:35]:
        records.restore(actor, "payments", pid)
    m.Payment.delete().where(m.Payment.id.in_(payments[40:45])).execute()
    for sid in services[:10]:
        records.update(actor, "services", sid, {"units": "7.25"})
    records.delete(actor, "organizations", ids[1])
    months = tier_rules.parse_period("2026-01..2026-04")
    for criterion in client_values.CRITERIA:
        for scheme in tier_rules.SCHEMES:
            fast = seg.segment(actor, criterion, months, scheme, per_month=True,
                               engine="summary")
            plain = seg.segment(actor, criterion, months, scheme, per_month=True,
                                engine="python")
            assert fast.to_dict() == plain.to_dict(), (criterion, scheme)


@pytest.fixture
def team(db, actor: Actor) -> tuple[Actor, Actor]:
    users.add_user(actor, "anna", role="manager", full_name="Анна")
    users.add_user(actor, "boris", role="manager", full_name="Борис")
    return users.actor_for("anna"), users.actor_for("boris")


def test_apply_writes_categories_with_history_and_queues_silent_vips(
        db, actor: Actor, team: tuple[Actor, Actor]) -> None:
    anna, _boris = team
    ids = [org(actor, f"C{i}", owner=anna.user_id) for i in range(6)]
    for n, oid in enumerate(ids[:5]):
        pay(actor, oid, "2026-07-10", 500 - 50 * n)
    records.update(actor, "organizations", ids[5], {"category": "difficult"})
    result = seg.segment(actor, "payments", "2026-07", "lenient")
    outcome = seg.apply(actor, result, now=dt.datetime(2026, 8, 1, 9, 0))
    assert outcome.changed == 5 and outcome.by_category == {"vip": 1, "good": 1, "regular": 3}
    assert outcome.silent_vips == 1
    category = {o.id: o.category for o in m.Organization.select()}
    assert [category[i] for i in ids] == ["vip", "good", "regular", "regular", "regular",
                                          "difficult"]
    history = [e for e in audit.history("organizations", ids[0]) if e.field == "category"]
    assert [(e.old, e.new, e.login) for e in history] == [("none", "vip", actor.login)]
    queue = followups.queue(actor, now=dt.datetime(2026, 8, 1, 9, 0))
    assert [(f.id, f.reason) for f in queue] == [(ids[0], "vip")]
    # Applying again changes nothing; clearing the missing resets the unranked client.
    again = seg.apply(actor, result)
    assert again.changed == 0 and again.unchanged == 5
    cleared = seg.apply(actor, result, clear_missing=True)
    assert cleared.cleared == 1 and m.Organization.get_by_id(ids[5]).category == "none"


def test_managers_rank_their_own_clients_and_cannot_apply(
        db, actor: Actor, team: tuple[Actor, Actor]) -> None:
    anna, boris = team
    mine = [org(actor, f"A{i}", owner=anna.user_id) for i in range(3)]
    theirs = [org(actor, f"B{i}", owner=boris.user_id) for i in range(3)]
    for n, oid in enumerate(mine + theirs):
        pay(actor, oid, "2026-07-10", 100 * (n + 1))
    result = seg.segment(anna, "payments", "2026-07")
    assert sorted(result.assignments()) == sorted(mine)
    assert seg.segment(actor, "payments", "2026-07").paying_clients == 6
    with pytest.raises(PermissionDenied):
        seg.apply(anna, result)


def test_latest_month_is_the_newest_payment(db, actor: Actor) -> None:
    assert seg.latest_month(dt.date(2026, 9, 3)) == "2026-09"
    pay(actor, org(actor, "X"), "2026-04-30", 10)
    assert seg.latest_month(dt.date(2026, 9, 3)) == "2026-04"


def test_a_large_apply_leaves_the_same_trail_as_single_edits(db, actor: Actor,
                                                             monkeypatch) -> None:
    ids = [org(actor, f"L{i}") for i in range(6)]
    for n, oid in enumerate(ids):
        pay(actor, oid, "2026-07-10", 600 - 100 * n)
    result = seg.segment(actor, "payments", "2026-07", "strict")
    monkeypatch.setattr(seg, "BULK_FROM", 0)  # take the set-based path
    progress: list[tuple[int, int]] = []
    outcome = seg.apply(actor, result, progress=lambda done, total: progress.append((done,
                                                                                     total)))
    assert outcome.by_category == {"vip": 1, "regular": 4, "difficult": 1}
    assert progress[-1] == (6, 6)
    rows = {o.id: o for o in m.Organization.select()}
    assert [rows[i].category for i in ids] == ["vip", "regular", "regular", "regular",
                                               "regular", "difficult"]
    assert all(rows[i].version == 2 and rows[i].updated_by_id == actor.user_id for i in ids)
    entries = [e for e in audit.history("organizations", ids[-1]) if e.field == "category"]
    assert [(e.action, e.old, e.new, e.login) for e in entries] == [
        ("update", "none", "difficult", actor.login)]
    view = records.get(actor, "organizations", ids[0])
    assert view.values["category"] == "vip" and view.version == 2


def run_cli(actor: Actor, *argv: str) -> int:
    """The subcommands as `tui-crm` wires them: a parent parser gives --json."""
    import argparse

    from tui_crm.cli import reports as cli_reports

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    parser = argparse.ArgumentParser()
    cli_reports.register(parser.add_subparsers(), common)
    args = parser.parse_args(list(argv))
    return args.handler(args, actor)


def test_segment_on_the_command_line(months_base: dict[str, int], actor: Actor,
                                     capsys) -> None:
    import json

    ids = months_base
    assert run_cli(actor, "segment", "--criterion", "payments", "--period",
                   "2026-01..2026-03", "--per-month", "--scheme", "lenient", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paying_clients"] == 5
    assert data["tiers"]["vip"] == [{"id": ids["B"], "name": "B", "value": 400}]
    assert [t for t in data["tiers"]] == ["vip", "good", "regular"]
    assert data["ties"] == [] and data["pareto"][0]["clients"] == 1
    assert data["fell_out"] == [] and data["potential_vip"][0]["id"] == ids["A"]
    assert [(mv["month"], [v["id"] for v in mv["entered"]], [v["id"] for v in mv["dropped"]])
            for mv in data["months"]] == [("2026-01", [ids["A"]], []),
                                          ("2026-02", [ids["B"]], [ids["A"]]),
                                          ("2026-03", [], [])]
    assert run_cli(actor, "segment", "--period", "2026-02", "--apply", "--compare",
                   "count") == 0
    text = capsys.readouterr().out
    assert "Fell out of VIP in 2026-02 (call them): 1" in text and "Applied: 5" in text
    assert "VIP overlap" in text
    assert m.Organization.get_by_id(ids["B"]).category == "vip"
    with pytest.raises(ValidationError):
        run_cli(actor, "segment", "--period", "2026-14")
