"""The smaller wrong-data items of issue 15, each at the service or CLI level."""

from __future__ import annotations

from tui_crm.cli import main
from tui_crm.db import open_database
from tui_crm.services.core import records, users
from tui_crm.services.core.records import ListQuery


def test_payments_are_found_by_their_clients_name(db):
    admin = users.resolve_actor()
    soft = records.create(admin, "organizations", {"name": "Алмаз-Софт", "source": "Website",
                                                   "inn": "7707083893"})
    other = records.create(admin, "organizations", {"name": "Берёза", "source": "Website"})
    paid = records.create(admin, "payments", {"date": "2026-11-02", "amount": "1000",
                                              "organization": soft.id})
    records.create(admin, "payments", {"date": "2026-11-03", "amount": "2000",
                                       "organization": other.id})
    for text in ("Алмаз-Софт", "алмаз", "7707083893"):
        page = records.list_records(admin, "payments", ListQuery(text=text))
        assert [r.id for r in page.rows] == [paid.id], text
    assert records.list_records(admin, "payments", ListQuery(text="Кедр")).rows == []


def test_cli_list_payments_query(tmp_path, capsys):
    path = str(tmp_path / "pay.sqlite3")
    open_database(path)
    admin = users.resolve_actor()
    soft = records.create(admin, "organizations", {"name": "Алмаз-Софт", "source": "Website"})
    records.create(admin, "payments", {"date": "2026-11-02", "amount": "1000",
                                       "organization": soft.id})
    capsys.readouterr()
    assert main(["--db", path, "list", "payments", "--query", "Алмаз-Софт"]) == 0
    assert "Алмаз-Софт" in capsys.readouterr().out


def test_names_sort_with_yo_as_ye(db):
    from tui_crm.text.names import sort_key

    admin = users.resolve_actor()
    names = ["Жук", "Ёлка", "Абрикос", "Елена", "Дуб", "Ель"]
    for name in names:
        records.create(admin, "organizations", {"name": name, "source": "Website"})
    page = records.list_records(admin, "organizations", ListQuery(sort="name"))
    shown = [r.values["name"] for r in page.rows]
    assert shown == ["Абрикос", "Дуб", "Елена", "Ёлка", "Ель", "Жук"]
    assert shown == sorted(names, key=sort_key)  # one rule in SQL and in Python
    back = records.list_records(admin, "organizations", ListQuery(sort="name", descending=True))
    assert [r.values["name"] for r in back.rows] == shown[::-1]
