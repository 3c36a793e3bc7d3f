"""The streamed export (export_rows: SQL rows, cells made per column) gives exactly the cells
that `exporting.cell_value` makes from RecordViews, for every kind, as text and typed,
in English and Russian, under filters, sorts, the trash and a manager's visibility."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tui_crm.db import models as m
from tui_crm.i18n import set_language
from tui_crm.services.core import records, settings, users
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.ops import demo
from tui_crm.services.transfer import csv_export, export_rows, export_views, exporting

TODAY = dt.date(2026, 3, 16)


@pytest.fixture
def base(db, actor: Actor) -> dict[str, int]:
    """Demo data of every kind, custom fields of every type with some values, and records
    with the odd cases: typed and invalid phones, negative and fractional numbers (a
    custom number; amounts may not be negative), a record in the trash, empty and
    formula-like text."""
    demo.generate(orgs=30, contacts=50, events=150, seed=3, today=TODAY)
    for kind, name in (("number", "size"), ("date", "since"), ("bool", "partner"),
                       ("choice", "tier"), ("text", "code")):
        settings.add_custom_field(actor, "organizations", name.title(), kind, name=name,
                                  choices=["Gold", "Silver"] if kind == "choice" else None)
    settings.add_custom_field(actor, "contacts", "Shoe size", "number", name="shoe")
    settings.add_custom_field(actor, "deals", "Signed", "date", name="signed")
    made = records.create(actor, "organizations", {
        "name": "=Формула", "source": "Website", "city": "Тверь",
        "phones": ["+7 916 123-45-67", "work:+7 495 111-22-33", "fax:12", "home:abc"],
        "emails": ["a@b.ru", "personal:c@d.ru"], "messengers": ["vk:durov", "@handle"],
        "tags": ["опт", "vip"], "status": "warm", "cadence_days": "3", "opt_out": "yes",
        "size": "-12,5", "since": "2025-02-03", "partner": "no", "tier": "Gold",
        "code": "+1", "notes": "a\nb"})
    records.create(actor, "contacts", {"last_name": "Пустой", "shoe": "41.25"})
    gone = records.create(actor, "organizations", {"name": "В корзине", "source": "Website"})
    records.delete(actor, "organizations", gone.id)
    deal = m.Deal.select().first()
    records.update(actor, "deals", deal.id, {"signed": "2026-01-31", "amount": "1234.5"})
    return {"formula": made.id, "gone": gone.id}


def _reference(actor: Actor, kind: str, query: ListQuery, cols: list[exporting.Column],
               typed: bool) -> list[list[Any]]:
    return [[exporting.cell_value(view, c, typed=typed) for c in cols]
            for view in export_views.iter_views(actor, kind, query)]


def _as_written(rows: list[list[Any]], typed: bool) -> list[list[Any]]:
    # In .xlsx an empty text and no value are the same: no cell.
    return [[None if typed and v == "" else v for v in row] for row in rows]


def _check(actor: Actor, kind: str, query: ListQuery, typed: bool) -> int:
    cols = exporting.columns(kind)
    want = _as_written(_reference(actor, kind, query, cols, typed), typed)
    got = _as_written(list(export_rows.stream_rows(actor, kind, query, cols, typed=typed)),
                      typed)
    assert len(got) == len(want)
    for expected, row in zip(want, got, strict=True):
        assert row == expected
        # The same types too: a date stays a date, a decimal a Decimal, text text.
        assert [type(v) for v in row] == [type(v) for v in expected]
    return len(got)


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("typed", [False, True])
def test_streamed_cells_match_the_views_for_every_kind(base, actor: Actor, typed: bool,
                                                       language: str) -> None:
    set_language(language)
    for kind in KINDS:
        assert _check(actor, kind, ListQuery(), typed) > 0, kind
        # Another order, a filter and a page boundary inside the rows.
        spec = KINDS[kind]
        other = next(f.name for f in spec.fields if f.column and not f.is_repeatable)
        assert _check(actor, kind, ListQuery(sort=other, descending=True), typed) > 0, kind
    assert _check(actor, "organizations", ListQuery(filters={"city": "Тверь"}), typed) >= 1
    assert _check(actor, "organizations", ListQuery(text="Формула"), typed) == 1
    assert _check(actor, "organizations", ListQuery(trash=True), typed) == 1
    assert _check(actor, "organizations", ListQuery(text="нет-такого-слова"), typed) == 0


def test_the_odd_cells_as_written(base, actor: Actor) -> None:
    cols = exporting.columns("organizations")
    names = [c.name for c in cols]
    query = ListQuery(text="Формула")
    text = dict(zip(names, next(export_rows.stream_rows(actor, "organizations", query, cols,
                                                        typed=False)), strict=True))
    assert text["phones"] == "+7 916 123-45-67; work: +7 495 111-22-33; fax: 12; home: abc"
    assert text["emails"] == "a@b.ru; personal: c@d.ru"
    assert text["tags"] == "vip, опт"
    assert (text["cadence_days"], text["size"], text["opt_out"]) == ("3", "-12.5", "yes")
    assert (text["since"], text["partner"], text["tier"]) == ("2025-02-03", "no", "Gold")
    typed = dict(zip(names, next(export_rows.stream_rows(actor, "organizations", query, cols,
                                                         typed=True)), strict=True))
    assert typed["cadence_days"] == 3 and typed["size"] == Decimal("-12.5")
    assert typed["since"] == dt.date(2025, 2, 3) and typed["last_contact_at"] is None
    set_language("ru")
    ru = dict(zip(names, next(export_rows.stream_rows(actor, "organizations", query, cols,
                                                      typed=False)), strict=True))
    assert (ru["size"], ru["since"], ru["opt_out"]) == ("-12,5", "03.02.2025", "да")


def test_a_managers_export_holds_only_what_the_table_shows_them(base, actor: Actor) -> None:
    users.add_user(actor, "anna", role="manager")
    anna = users.actor_for("anna")
    records.create(anna, "organizations", {"name": "Клиент Анны", "source": "Website"})
    for kind in ("organizations", "contacts", "tasks", "events", "deals"):
        shown = records.count(anna, kind)
        assert _check(anna, kind, ListQuery(), typed=False) == shown, kind
    assert records.count(anna, "organizations") == 1


def test_progress_and_pages(base, actor: Actor, monkeypatch: pytest.MonkeyPatch,
                            tmp_path: Path) -> None:
    monkeypatch.setattr(export_rows, "PAGE", 7)  # many pages from a small base
    seen: list[tuple[int, int]] = []
    cols = exporting.columns("contacts")
    pages = list(export_rows.stream_pages(actor, "contacts", None, cols, typed=False,
                                          progress=lambda done, total: seen.append((done, total))))
    total = records.count(actor, "contacts")
    assert seen[-1] == (total, total) and len(pages) == len(seen) == -(-total // 7)
    assert all(len(column) == len(page[0]) for page in pages for column in page)
    assert _check(actor, "contacts", ListQuery(), typed=False) == total
    result = exporting.export(actor, "contacts", tmp_path / "c.csv")
    assert result.rows == total


def test_a_bad_filter_fails_before_the_file_is_made(base, actor: Actor, tmp_path: Path) -> None:
    from tui_crm.errors import ValidationError

    path = tmp_path / "x.csv"
    with pytest.raises(ValidationError):
        exporting.export(actor, "organizations", path,
                         query=ListQuery(filters={"cadence_days": "many"}))
    assert not path.exists()


@pytest.mark.parametrize("start", list(csv_export.FORMULA_START))
def test_csv_columns_neutralized_whatever_else_they_hold(start: str) -> None:
    # A formula-like text among digits, among letters, after empty cells, next to None.
    for others in (["12", "2026-01-01", ""], ["Ромашка", "abc", ""], ["", None, "5"],
                   ["<b>", ".5", "9"]):
        column = [*others, start + "1+1", *others]
        out = csv_export.neutralized(column)
        assert out[len(others)] == "'" + start + "1+1"
        assert [v for i, v in enumerate(out) if i != len(others)] == others + others
    safe = ["12", "2026-01-01", "", ".5", "<", "Ромашка", "abc"]
    assert csv_export.neutralized(safe) is safe
