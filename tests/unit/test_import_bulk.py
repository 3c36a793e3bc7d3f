"""The bulk import path: the search documents it writes are those `search_docs.reindex` writes,
a large import leaves the FTS5 settings and the garbage collector as they were, columns mapped twice keep their order,
and undoing a large import (several id chunks) removes everything it added."""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path

import pytest

from tests.unit.test_importing import big_csv, do_import, write_csv
from tui_crm.db import search_index
from tui_crm.db.database import is_postgres
from tui_crm.errors import CrmError
from tui_crm.services.core import records, search_docs, settings
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search
from tui_crm.services.transfer import importing
from tui_crm.services.transfer.importing import ImportOptions


def _documents(db, kind: str, ids: list[int]) -> dict[int, tuple[str, str]]:  # noqa: ANN001
    key_col, mark = ("id", "%s") if is_postgres(db) else ("rowid", "?")
    found = {}
    for record_id in ids:
        row = db.execute_sql(f"SELECT title, body FROM search_doc WHERE {key_col} = {mark}",
                             (search_index.doc_key(kind, record_id),)).fetchone()
        found[record_id] = tuple(row) if row else None
    return found


def test_imported_documents_are_those_reindex_writes(tmp_path: Path, db,
                                                     actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [
        ["Наименование", "Телефон", "E-mail", "Теги", "Примечание", "Город"],
        ["ООО «Ёлка»", "8 916 123-45-67; +7 495 111-22-33", "Info@Elka.RU", "опт, юг",
         "звонить утром", "Тверь"],
        ["ИП Сосна", "12-34", "", "", "", ""],
    ])
    result = do_import(actor, path)
    assert result.created == 2
    imported = _documents(db, "organizations", result.created_ids)
    for record_id in result.created_ids:
        search_docs.reindex("organizations", record_id)
    assert _documents(db, "organizations", result.created_ids) == imported
    assert search.quick_search(actor, "89161234567")[0].title == "ООО «Ёлка»"
    assert search.quick_search(actor, "info@elka")[0].title == "ООО «Ёлка»"


def test_large_import_restores_fts_settings_and_the_collector(tmp_path: Path, db,
                                                              actor: Actor) -> None:
    path = big_csv(tmp_path / "big.csv", 6000)
    assert gc.isenabled()
    result = do_import(actor, path)
    assert result.created == 6000 and gc.isenabled()
    assert [h.title for h in search.quick_search(actor, "Фирма 5999")] == ["ООО Фирма 5999"]
    assert search.quick_search(actor, "info4321@firm4321")[0].title == "ООО Фирма 4321"
    if is_postgres(db):
        return  # the rest is about SQLite's FTS5 settings and statistics
    assert db.execute_sql("SELECT v FROM search_doc_config WHERE k = 'hashsize'"
                          ).fetchone() in (None, (1024 * 1024,))
    # Statistics for the tables the import filled, not a whole-base ANALYZE.
    analyzed = {r[0] for r in db.execute_sql("SELECT tbl FROM sqlite_stat1")}
    assert {"organization", "contact_point"} <= analyzed
    conn = sqlite3.connect(db.database)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("INSERT INTO search_doc (search_doc) VALUES ('integrity-check')")
    conn.close()


def test_the_collector_is_back_on_after_a_failed_read(tmp_path: Path, db) -> None:
    with pytest.raises(importing.ImportFileError):
        importing.read_table(tmp_path / "missing.csv")
    assert gc.isenabled()


def test_a_field_mapped_from_several_columns_keeps_the_order_of_filled_cells(
        tmp_path: Path, db, actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [
        ["Наименование", "Телефон", "Рабочий телефон", "Телефон 2", "E-mail"],
        ["Альфа", "", "+7 495 100-00-01", "+7 916 100-00-02", "a@alfa.ru"],
        ["Бета", "+7 916 200-00-01", "+7 495 200-00-02", "+7 916 200-00-01", ""],
    ])
    table = importing.read_table(path)
    mapping = importing.auto_mapping("organizations", table.headers)
    assert mapping == {0: "name", 1: "phones", 2: "phones:work", 3: "phones", 4: "emails"}
    plan = importing.analyze(actor, table, ImportOptions())
    alfa, beta = (r.values["phones"] for r in plan.rows)
    # A target's cells come where its first filled column is: the work phone first here.
    assert [(t, n) for t, _s, n, _v in alfa] == [("work", "+74951000001"),
                                                 ("mobile", "+79161000002")]
    assert [(t, n) for t, _s, n, _v in beta] == [("mobile", "+79162000001"),
                                                 ("work", "+74952000002")]


def test_undo_of_a_large_import_removes_everything(tmp_path: Path, db, actor: Actor,
                                                   row_counts) -> None:
    settings.add_custom_field(actor, "organizations", "Склад", "text", name="warehouse")
    rows = [["Наименование", "Телефон", "Теги", "Склад"]]
    rows += [[f"Фирма {i}", f"+7 916 {i // 10000 % 1000:03d}-{i // 100 % 100:02d}-{i % 100:02d}",
              "опт", f"№{i}"] for i in range(2000)]
    path = write_csv(tmp_path / "c.csv", rows)
    before = row_counts()
    result = do_import(actor, path, map_pairs=["Склад=warehouse"])
    assert result.created == 2000
    kept = records.list_records(actor, "organizations", records.ListQuery(limit=1)).rows[0]
    records.update(actor, "organizations", kept.id, {"city": "Омск"})  # touched: trashed
    undone = importing.undo_import(actor, result.import_id)
    assert (undone.deleted, undone.trashed) == (1999, 1)
    after = row_counts()
    # The trashed record keeps its phone, tag and custom value; the others are gone.
    for table in ("organization", "contact_point", "tag_link", "custom_value"):
        assert after[table] == before[table] + 1, table
    assert after["search_doc"] == before["search_doc"]
    assert not search.quick_search(actor, "Фирма 1500")
    with pytest.raises(CrmError, match="already undone"):
        importing.undo_import(actor, result.import_id)
