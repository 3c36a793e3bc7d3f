"""The importer cleans a usual table (one column per field) column by column; the rows it
makes are exactly those that cleaning each row on its own (`RowCleaner.clean` over
`raw_rows`) makes, whatever the cells: blanks, spaces, exported apostrophes, numbers,
dates, bad phones and e-mails, unknown choices, several notes and phone columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer.importing import ImportOptions
from tui_crm.services.transfer.importing.rows import Resolver, RowCleaner, raw_rows
from tui_crm.services.transfer.readers.table import SourceTable

# What the columns of generated files are mapped to (notes and phones twice, the second
# under its header or type, as a file's "Комментарий" or "Мобильный" column is).
TARGETS = {
    "organizations": ["name", "inn", "city", "phones", "phones:mobile", "emails", "website",
                      "status", "cadence_days", "opt_out", "tags", "notes",
                      "notes:Комментарий", "contact_person", "messengers"],
    "contacts": ["last_name", "first_name", "full_name", "phones", "emails", "birthday",
                 "is_decision_maker", "notes", "tags", "organization"],
}

CELLS = st.one_of(
    st.none(), st.just(""), st.just("  "), st.just("'=SUM(A1)"), st.just("'\t"),
    st.sampled_from(["ООО «Ёлка»", "Иванов Иван Иванович", "+7 495 111-22-33 доб. 12",
                     "8 916 123-45-67; 8 916 123-45-68", "12-34", "info@elka.ru",
                     "a@b, c@d.ru", "Лид", "client", "клиент", "нет такого", "7707083893",
                     "1234", "elka.ru", "да", "no", "12.05.85", "2/1/1985", "31048",
                     "Рога и копыта", "work: +7 916 000-00-01", "опт, юг", "tg:@elka"]),
    st.integers(-5, 100_000), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
    st.text(max_size=12),
)


@st.composite
def tables(draw: st.DrawFn, kind: str) -> tuple[SourceTable, dict[int, str]]:
    targets = draw(st.lists(st.sampled_from(TARGETS[kind]), min_size=1, max_size=8,
                            unique=True))
    width = len(targets) + draw(st.integers(0, 2))  # unmapped columns too
    columns = draw(st.permutations(range(width)))
    mapping = {columns[i]: target for i, target in enumerate(targets)}
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width), max_size=8))
    table = SourceTable(path=Path("generated.csv"), format="csv",
                        headers=[f"c{i}" for i in range(width)], rows=rows, first_row=2,
                        date_order=draw(st.sampled_from(["", "mdy"])))
    return table, mapping


def _cleaner(actor: Actor, kind: str) -> RowCleaner:
    options = ImportOptions(kind=kind, create_missing=True)
    return RowCleaner(actor, kind, options, Resolver(actor, kind, options))


def _row_by_row(actor: Actor, kind: str, table: SourceTable,
                mapping: dict[int, str]) -> list[Any]:
    cleaner = _cleaner(actor, kind)
    cleaner.date_order = table.date_order
    return [cleaner.clean(raw, number) for number, raw in raw_rows(table, mapping)]


def _by_columns(actor: Actor, kind: str, table: SourceTable,
                mapping: dict[int, str]) -> list[Any]:
    cleaner = _cleaner(actor, kind)
    cleaner.date_order = table.date_order
    return cleaner.clean_table(table, mapping)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_column_cleaning_makes_the_rows_row_cleaning_makes(db, actor: Actor,  # noqa: ANN001
                                                           data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["organizations", "contacts"]))
    table, mapping = data.draw(tables(kind))
    assert _by_columns(actor, kind, table, mapping) == _row_by_row(actor, kind, table, mapping)


def test_a_table_with_two_columns_for_one_field_is_cleaned_row_by_row(db,  # noqa: ANN001
                                                                    actor: Actor) -> None:
    table = SourceTable(path=Path("two.csv"), format="csv", headers=["a", "b", "c"],
                        rows=[["ООО Ёлка", "8 916 123-45-67", "+7 495 111-22-33"],
                              ["", "", ""], ["ИП Сосна", "", "12"]], first_row=2)
    mapping = {0: "name", 1: "phones", 2: "phones"}
    cleaned = _by_columns(actor, "organizations", table, mapping)
    assert cleaned == _row_by_row(actor, "organizations", table, mapping)
    assert [row.row for row in cleaned] == [2, 4]
    assert [p[1] for p in cleaned[0].values["phones"]] == ["+7 916 123-45-67",
                                                           "+7 495 111-22-33"]
