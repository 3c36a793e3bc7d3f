"""Payments, services and deals from an accounting export (.csv / .xlsx), matched to
organizations by tax id, then name; all or nothing."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from openpyxl import Workbook

from tui_crm.cli.main import main
from tui_crm.errors import ValidationError
from tui_crm.services.core import records
from tui_crm.services.transfer import money_import


@pytest.fixture
def orgs(db, actor):
    a = records.create(actor, "organizations", {"name": "ООО «Ромашка»", "inn": "7707083893",
                                                "source": "Website"})
    b = records.create(actor, "organizations", {"name": "Лютик", "source": "Website"})
    return a.id, b.id


def write_csv(path, rows, encoding="cp1251"):
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    return path


def test_payments_from_a_windows_1251_csv(tmp_path, actor, orgs):
    path = write_csv(tmp_path / "bank.csv", [
        ["Дата", "Контрагент", "ИНН", "Сумма", "Назначение платежа"],
        ["15.03.2026", "Ромашка ООО", "7707083893", "12 500,50", "Оплата по счёту 7"],
        ["16.03.2026", "Лютик", "", "3000", "Аванс"],
    ])
    result = money_import.import_money(actor, path, "payments")
    assert (result.created, result.rows, result.errors) == (2, 2, [])
    rows = records.list_records(actor, "payments", records.ListQuery(sort="date")).rows
    assert [(r.values["organization"], r.values["amount"]) for r in rows] == [
        (orgs[0], Decimal("12500.50")), (orgs[1], Decimal("3000.00"))]
    assert rows[0].values["description"] == "Оплата по счёту 7"


def test_one_bad_row_imports_nothing(tmp_path, actor, orgs):
    path = write_csv(tmp_path / "bad.csv", [
        ["Дата", "Контрагент", "Сумма"],
        ["15.03.2026", "Лютик", "100"],
        ["32.03.2026", "Лютик", "100"],
        ["16.03.2026", "Незнакомец", "100"],
    ], encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        money_import.import_money(actor, path, "payments")
    assert "2 rows have problems" in str(err.value) and "row 3" in str(err.value)
    assert records.count(actor, "payments") == 0


def test_services_and_deals_from_xlsx_and_the_cli(tmp_path, actor, orgs, db_target, capsys):
    book = Workbook()
    sheet = book.active
    sheet.append(["Date", "Customer", "Service", "Units", "Amount"])
    sheet.append(["2026-04-01", "Лютик", "Монтаж", 2.5, 7000])
    book.save(tmp_path / "services.xlsx")
    result = money_import.import_money(actor, tmp_path / "services.xlsx", "services")
    assert result.created == 1
    [service] = records.list_records(actor, "services").rows
    assert (service.values["units"], service.values["amount"]) == (Decimal("2.500"),
                                                                   Decimal("7000.00"))
    path = write_csv(tmp_path / "deals.csv", [["Сделка", "ИНН", "Стадия", "Сумма"],
                                              ["Поставка", "7707083893", "negotiation", "90000"]],
                     encoding="utf-8")
    assert main(["--db", db_target, "import", str(path), "--into", "deals", "--dry-run"]) == 0
    assert records.count(actor, "deals") == 0
    assert main(["--db", db_target, "import", str(path), "--into", "deals", "--json"]) == 0
    assert '"created": 1' in capsys.readouterr().out
    [deal] = records.list_records(actor, "deals").rows
    assert (deal.values["stage"], deal.values["organization"]) == ("negotiation", orgs[0])


def test_missing_columns_are_named(tmp_path, actor, orgs):
    path = write_csv(tmp_path / "x.csv", [["Дата", "Сумма"], ["01.01.2026", "5"]],
                     encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        money_import.import_money(actor, path, "payments")
    assert "organization" in str(err.value)
    path = write_csv(tmp_path / "y.csv", [["Клиент", "Сумма"], ["Лютик", "5"]],
                     encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        money_import.import_money(actor, path, "payments", map_pairs=["Сумма=nothing"])
    assert "Unknown field" in str(err.value)
