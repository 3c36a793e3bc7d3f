"""Number fields have a range of their own (FieldSpec.min_value / max_value) that
values.clean enforces for every entry path — the service (forms), the CLI and imports —
besides what the column can hold."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_crm.cli.main import main
from tui_crm.errors import ValidationError
from tui_crm.services.core import records
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.transfer import importing, money_import

NUMBER_FIELDS = sorted((kind, f.name) for kind, spec in KINDS.items() for f in spec.fields
                       if f.type in ("int", "decimal") and f.editable)


def test_every_number_field_has_a_lower_bound() -> None:
    assert NUMBER_FIELDS  # cadence, reminder minutes, amounts and units
    for kind, name in NUMBER_FIELDS:
        assert KINDS[kind].field(name).min_value is not None, (kind, name)


@pytest.fixture
def base(db, actor):  # noqa: ANN001, ANN201
    org = records.create(actor, "organizations", {"name": "Альфа", "source": "Website"})
    return org.id


def _data(kind: str, org_id: int) -> dict[str, object]:
    return {"organizations": {"name": "X", "source": "Website"},
            "contacts": {"last_name": "Иванов"},
            "events": {"event_type": "call", "starts_at": "01.12.2026 10:00"},
            "deals": {"title": "D"},
            "payments": {"date": "01.12.2026", "amount": "1", "organization": org_id},
            "services": {"date": "01.12.2026", "organization": org_id}}[kind]


@pytest.mark.parametrize(("kind", "name"), NUMBER_FIELDS)
def test_below_the_range_is_refused_and_nothing_is_written(base, actor, row_counts, kind: str,
                                                           name: str) -> None:
    before = row_counts()
    low = KINDS[kind].field(name).min_value
    with pytest.raises(ValidationError) as refused:
        records.create(actor, kind, {**_data(kind, base), name: str(low - 1)})
    assert refused.value.errors == {name: f"Must be at least {low}"}
    assert row_counts() == before
    view = records.create(actor, kind, {**_data(kind, base), name: str(low)})
    assert view.values[name] == low


@pytest.mark.parametrize(("kind", "name", "high"), [("events", "reminder_minutes", 43200)])
def test_above_the_range_is_refused(base, actor, kind: str, name: str, high: int) -> None:
    with pytest.raises(ValidationError, match=f"Must be at most {high}"):
        records.create(actor, kind, {**_data(kind, base), name: high + 1})
    assert records.create(actor, kind, {**_data(kind, base), name: high}).values[name] == high


def test_an_edit_is_checked_the_same_way(base, actor) -> None:
    deal = records.create(actor, "deals", {"title": "D", "amount": "10"})
    with pytest.raises(ValidationError, match="at least 0"):
        records.update(actor, "deals", deal.id, {"amount": "-0.01"})
    assert records.get(actor, "deals", deal.id).values["amount"] == Decimal("10.00")


def test_the_column_bound_is_said_with_its_numbers(base, actor) -> None:
    with pytest.raises(ValidationError) as refused:
        records.create(actor, "deals", {"title": "D", "amount": "1e15"})
    assert refused.value.errors["amount"] == (
        "Out of range: the number must be from -999999999999.99 to 999999999999.99")
    with pytest.raises(ValidationError, match="from -2147483648 to 2147483647"):
        records.create(actor, "events", {**_data("events", base),
                                         "reminder_minutes": "99999999999999999999"})


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(minutes=st.one_of(st.integers(), st.integers(-5, 50_000)))
def test_a_reminder_is_kept_exactly_when_in_range(base, actor, minutes: int) -> None:
    event = records.create(actor, "events", _data("events", base))
    try:
        view = records.update(actor, "events", event.id, {"reminder_minutes": str(minutes)})
    except ValidationError as exc:
        assert not 0 <= minutes <= 43200
        assert set(exc.errors) == {"reminder_minutes"}
        assert records.get(actor, "events", event.id).version == event.version
    else:
        assert 0 <= minutes <= 43200 and view.values["reminder_minutes"] == minutes


# --- the CLI and the importers ------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["add", "deals", "title=D", "amount=-1"],
    ["add", "events", "event_type=call", "starts_at=01.12.2026 10:00", "reminder_minutes=-5"],
    ["add", "organizations", "name=X", "source=Website", "cadence_days=-7"],
    ["add", "organizations", "name=X", "source=Website", "cadence_days=99999999999999999999"],
    ["add", "payments", "date=2026-01-15", "amount=-5", "organization=X"],
])
def test_the_cli_refuses_out_of_range_numbers_with_one_line(tmp_path: Path, capsys,  # noqa: ANN001
                                                            args: list[str]) -> None:
    db = str(tmp_path / "crm.sqlite3")
    assert main(["--db", db, "init"]) == 0
    capsys.readouterr()
    assert main(["--db", db, *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "Must be at least" in err or "Out of range" in err
    assert main(["--db", db, "list", args[1], "--json"]) == 0
    assert '"total": 0' in capsys.readouterr().out


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    return path


def test_a_deal_import_with_a_negative_amount_imports_nothing(tmp_path: Path, base,
                                                              actor) -> None:
    path = _csv(tmp_path / "deals.csv", [["Название", "Контрагент", "Сумма"],
                                         ["Поставка", "Альфа", "100"],
                                         ["Возврат", "Альфа", "-100"]])
    with pytest.raises(ValidationError, match="row 3: amount: Must be at least 0"):
        money_import.import_money(actor, path, "deals")
    assert records.count(actor, "deals") == 0


def test_an_organization_import_does_not_take_a_negative_cadence(tmp_path: Path, base,
                                                                 actor) -> None:
    path = _csv(tmp_path / "orgs.csv", [["Название", "Источник", "Периодичность контакта"],
                                        ["Бета", "Website", "-30"], ["Гамма", "Website", "30"]])
    result = importing.import_file(actor, path, importing.ImportOptions(kind="organizations"))
    problems = [p.to_dict() for p in result.errors + result.warnings]
    assert any("Must be at least 0" in str(p) for p in problems), problems
    cadences = {r.title: r.values["cadence_days"] for r in records.list_records(
        actor, "organizations").rows}
    assert cadences["Гамма"] == 30 and cadences.get("Бета") is None
