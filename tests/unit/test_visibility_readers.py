"""Everything that reads records obeys the one visibility rule: reports, segmentation,
exports, mailings, documents, duplicate hints, imports, the day plan. anna (own visibility)
gets her own client and never boris's — not even its name."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from tests.unit.team_base import Team, build
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.services.analytics import reports, segmentation
from tui_crm.services.core import records, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import duplicates
from tui_crm.services.mail import context, recipients
from tui_crm.services.planning import planning
from tui_crm.services.transfer import documents, exporting, importing, money_import


@pytest.fixture
def team(db, actor: Actor) -> Team:
    return build(actor)


def secret(team: Team) -> str:
    """The name of boris's client: anna must never read it."""
    return team.names[("boris", "organizations")]


def mine(team: Team) -> str:
    return team.names[("anna", "organizations")]


def test_reports_cover_only_the_clients_one_sees(team: Team) -> None:
    anna, gleb = team.actors["anna"], team.actors["gleb"]
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    payments = reports.build(anna, "payments", start, end)
    assert payments.totals["payments"] == 500  # hers; boris's 500 are not counted
    assert reports.build(gleb, "payments", start, end).totals["payments"] == 1000
    audit = reports.build(anna, "audit", start, end)
    text = str(audit.rows)
    assert secret(team) not in text
    with pytest.raises(PermissionDenied):
        reports.build(anna, "payments", start, end, manager="boris")
    # The head gives anna a meeting and a visit at boris's client: her reports count them
    # without naming the client.
    for kind in ("meeting", "visit"):
        records.create(gleb, "events", {"event_type": kind, "starts_at": "2026-03-05 10:00",
                                        "assignee": "anna", "status": "done",
                                        "organization": team.id("boris", "organizations")})
    for name in ("meetings", "visits"):
        report = reports.build(anna, name, start, end)
        assert len(report.rows) == 1, name
        assert secret(team) not in str(report.rows), name


def test_segmentation_ranks_only_the_clients_one_sees(team: Team) -> None:
    anna, gleb = team.actors["anna"], team.actors["gleb"]
    assert set(segmentation.segment(anna, "payments", "2026-02").assignments()) == {
        team.id("anna", "organizations")}
    assert secret(team) not in str(segmentation.segment(anna, "payments", "2026-02").to_dict())
    assert set(segmentation.segment(gleb, "payments", "2026-02").assignments()) == {
        team.id("anna", "organizations"), team.id("boris", "organizations")}


@pytest.mark.parametrize("kind", ["payments", "notes", "contacts"])
def test_exports_hold_only_what_one_sees(team: Team, actor: Actor, tmp_path: Path,
                                         kind: str) -> None:
    users.set_user(actor, "anna", {"can_export": "yes"})
    anna = users.actor_for("anna")
    path = tmp_path / f"{kind}.csv"
    exporting.export(anna, kind, path)
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    assert len(rows) - 1 == records.count(anna, kind) > 0
    assert secret(team) not in text
    assert "qboris" not in text


def test_mailing_recipients_are_ones_own_clients(team: Team) -> None:
    anna = team.actors["anna"]
    chosen = recipients.select_recipients(anna, recipients.RecipientSource(kind="organizations"))
    assert [(r.record_id, r.address) for r in chosen.recipients] == [
        (team.id("anna", "organizations"), "anna@client.example.com")]
    picked = recipients.select_recipients(anna, recipients.RecipientSource(
        kind="organizations", ids=[team.id("boris", "organizations")]))
    assert picked.recipients == []
    with pytest.raises(PermissionDenied):
        context.recipient_context(anna, "organizations", team.id("boris", "organizations"))
    # Her own contact who works at boris's client: the letter's fields do not name it.
    person = records.create(team.actors["gleb"], "contacts", {
        "last_name": "Общий", "owner": "anna", "emails": ["common@example.com"],
        "organization": team.id("boris", "organizations")})
    fields = context.recipient_context(anna, "contacts", person.id)
    assert fields["contact"]["last_name"] == "Общий"
    assert secret(team) not in str(fields)


def test_documents_leave_out_a_client_one_may_not_see(team: Team) -> None:
    anna, gleb = team.actors["anna"], team.actors["gleb"]
    with pytest.raises(PermissionDenied):
        documents.context(anna, "deals", team.id("boris", "deals"))
    # The head gives anna a deal on boris's client: her document names no client.
    deal = records.create(gleb, "deals", {"title": "Общая сделка", "owner": "anna",
                                          "organization": team.id("boris", "organizations")})
    data = documents.context(anna, "deals", deal.id)
    assert "Общая сделка" in str(data["deal"])
    assert data["org"] == {}
    assert secret(team) not in str(data)


def test_a_duplicate_one_may_not_see_is_told_by_its_owner_alone(team: Team) -> None:
    anna = team.actors["anna"]
    boris_org = team.id("boris", "organizations")
    phone = records.get(team.actors["boris"], "organizations", boris_org).points[0].value
    [dup] = duplicates.find(anna, "organizations", {"name": "Новая", "phones": [phone]})
    assert (dup.id, dup.owner, dup.hidden, dup.reasons) == (None, "Борис Котов", True,
                                                            ["phone"])
    shown = f"{dup.to_dict()} {dup.describe()}"
    assert secret(team) not in shown and str(boris_org) not in shown
    # One's own is named, with its id.
    [own] = duplicates.find(anna, "organizations", {"name": mine(team)})
    assert (own.id, own.title) == (team.id("anna", "organizations"), mine(team))


def test_an_import_never_duplicates_a_hidden_client(team: Team, tmp_path: Path) -> None:
    anna = team.actors["anna"]
    boris_org = team.id("boris", "organizations")
    phone = records.get(team.actors["boris"], "organizations", boris_org).points[0].value
    path = tmp_path / "clients.csv"
    path.write_text(f"Название;Телефон\nСвоя копия;{phone}\nНовый клиент;+7 903 111-22-33\n",
                    encoding="utf-8")
    for policy in ("skip", "merge", "create"):
        plan_only = importing.import_file(anna, path, importing.ImportOptions(
            kind="organizations", on_duplicate=policy), dry_run=True)
        assert (plan_only.created, plan_only.skipped) == (1, 1), policy
    result = importing.import_file(anna, path, importing.ImportOptions(
        kind="organizations", on_duplicate="create"))
    assert (result.created, result.skipped) == (1, 1)
    told = " ".join(w.message for w in result.warnings)
    assert "Already a client of Борис Котов (same phone): not imported" in told
    assert secret(team) not in told and f"#{boris_org}" not in told
    assert records.count(team.actors["gleb"], "organizations") == 3
    # A contact's organization named after a hidden client is not attached to it.
    people = tmp_path / "people.csv"
    people.write_text(f"Фамилия;Организация\nПетров;{secret(team)}\n", encoding="utf-8")
    result = importing.import_file(anna, people, importing.ImportOptions(kind="contacts"))
    [person] = [r for r in records.list_records(anna, "contacts").rows
                if r.values["last_name"] == "Петров"]
    assert person.values["organization"] is None
    assert "already a client of Борис Котов" in " ".join(w.message for w in result.warnings)
    assert records.count(team.actors["gleb"], "organizations") == 3


def test_money_import_matches_only_ones_own_clients(team: Team, tmp_path: Path,
                                                    row_counts) -> None:
    anna = team.actors["anna"]
    path = tmp_path / "payments.csv"
    path.write_text(f"Дата;Клиент;Сумма\n01.03.2026;{secret(team)};1000000\n",
                    encoding="utf-8")
    before = row_counts()
    with pytest.raises(ValidationError) as err:
        money_import.import_money(anna, path, "payments")
    assert f"no organization {secret(team)!r}" in str(err.value)
    assert row_counts() == before
    ok = tmp_path / "own.csv"
    ok.write_text(f"Дата;Клиент;Сумма\n01.03.2026;{mine(team)};100\n", encoding="utf-8")
    assert money_import.import_money(anna, ok, "payments").created == 1


def test_the_day_plan_does_not_name_a_hidden_client(team: Team) -> None:
    anna, gleb, boris = team.actors["anna"], team.actors["gleb"], team.actors["boris"]
    boris_org = team.id("boris", "organizations")
    boris_phone = records.get(boris, "organizations", boris_org).points[0].value
    records.create(gleb, "tasks", {"title": "Позвонить за Бориса", "assignee": "anna",
                                   "organization": boris_org, "due_at": "2026-03-02 12:00"})
    records.create(gleb, "events", {"event_type": "call", "starts_at": "2026-03-02 11:00",
                                    "assignee": "anna", "organization": boris_org})
    day = planning.day_view(anna, dt.date(2026, 3, 2), now=dt.datetime(2026, 3, 2, 8, 0))
    shown = str(day.to_dict())
    assert "Позвонить за Бориса" in shown and mine(team) in shown
    assert secret(team) not in shown and boris_phone not in shown
    # Asking for boris's day gives anna her own.
    theirs = planning.day_view(anna, dt.date(2026, 3, 2), user_id=boris.user_id,
                               now=dt.datetime(2026, 3, 2, 8, 0))
    assert "qborisevents" not in str(theirs.to_dict())
    assert "qannaevents" in str(theirs.to_dict())
