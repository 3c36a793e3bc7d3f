"""A big file whose rows' fates depend only on the rows before them is imported part after
part (each part cleaned and matched, then written on the write-behind thread while the next
is cleaned): the result, every row's outcome and what is stored are those of analysing the
whole file first, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_importing import do_import, make_inn10, write_csv
from tui_crm.db import models as m
from tui_crm.db.database import current
from tui_crm.services.core import record_writer, records
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import importing
from tui_crm.services.transfer.importing import ImportCancelled, ImportOptions, writing


def _file(path: Path) -> Path:
    rows = [["Наименование", "ИНН", "Телефон", "E-mail", "Источник", "Теги"]]
    for i in range(23):
        rows.append([f"ООО Поток {i}", make_inn10(f"{200000000 + i}"),
                     f"+7 916 200-{i // 100:02d}-{i % 100:02d}", f"p{i}@potok{i}.ru",
                     "Выставка" if i % 3 else "Сайт", "опт" if i % 2 else ""])
    rows[6][2] = "+7 916 200-00-02"  # the phone of row 3, two parts earlier
    rows[9][1] = make_inn10("300000001")  # the tax id of a client in the base
    rows[12][0] = ""  # no name: an error
    rows[1][4] = "Ярмарка"  # a new source in the first part
    rows[15][4] = "Партнёр нового года"  # a source nobody has yet, first named here
    rows[20][4] = "Партнёр нового года"
    return write_csv(path, rows)


def _stored() -> dict[str, Any]:
    """What the import left, without ids or times."""
    db = current()
    orgs = {name: (inn, phone, source) for name, inn, phone, source in db.execute_sql(
        "SELECT o.name, o.inn, o.primary_phone, s.name FROM organization o"
        " LEFT JOIN source s ON s.id = o.source_id")}
    return {
        "organizations": orgs,
        "points": sorted(tuple(r) for r in db.execute_sql(
            "SELECT o.name, p.kind, p.normalized FROM contact_point p"
            " JOIN organization o ON o.id = p.organization_id")),
        "tags": sorted(tuple(r) for r in db.execute_sql(
            "SELECT o.name, t.name FROM tag_link l JOIN tag t ON t.id = l.tag_id"
            " JOIN organization o ON o.id = l.record_id")),
        "documents": sorted(r[0] for r in db.execute_sql("SELECT title FROM search_doc")),
        "items": db.execute_sql("SELECT COUNT(*) FROM import_item").fetchone()[0],
    }


def _run(actor: Actor, path: Path, streamed: bool, monkeypatch) -> tuple[Any, dict]:  # noqa: ANN001
    monkeypatch.setattr(writing, "streams", lambda table, options: streamed)
    db = current()
    with db.atomic() as transaction:
        result = do_import(actor, path)
        found = (result.created, result.merged, result.skipped, len(result.errors),
                 [(o.row, o.outcome, o.reason) for o in result.outcomes], _stored(),
                 sorted(result.new_lookups))
        transaction.rollback()
    return result, found


def test_a_file_in_parts_gives_what_the_whole_file_gives(tmp_path: Path, db, actor: Actor,
                                                        monkeypatch) -> None:
    records.create(actor, "organizations", {"name": "Клиент из базы", "source": "Сайт",
                                            "inn": make_inn10("300000001")})
    monkeypatch.setattr(record_writer, "PART_ROWS", 4)
    path = _file(tmp_path / "big.csv")
    assert writing.streams(importing.read_table(path), ImportOptions())
    _whole, expected = _run(actor, path, False, monkeypatch)
    streamed, got = _run(actor, path, True, monkeypatch)
    assert got == expected
    created, _merged, skipped, errors, outcomes, stored, new_lookups = got
    assert (created, skipped, errors) == (20, 2, 1)
    # Named in the first part and in the fourth: the result names both.
    assert sum("Ярмарка" in i or "Партнёр нового года" in i for i in new_lookups) == 2
    assert stored["organizations"]["ООО Поток 14"][2] == "Партнёр нового года"
    assert stored["organizations"]["ООО Поток 19"][2] == "Партнёр нового года"
    assert stored["items"] == created and len(stored["documents"]) == created + 1


def test_no_streaming_where_a_row_could_change_an_earlier_one(tmp_path: Path, db,
                                                              monkeypatch) -> None:
    monkeypatch.setattr(record_writer, "PART_ROWS", 4)
    table = importing.read_table(_file(tmp_path / "big.csv"))
    assert not writing.streams(table, ImportOptions(on_duplicate="merge"))
    assert not writing.streams(table, ImportOptions(on_possible="merge"))
    monkeypatch.setattr(record_writer, "PART_ROWS", 12)
    assert not writing.streams(table, ImportOptions())  # fewer than two parts


def test_a_cancel_in_a_later_part_leaves_nothing(tmp_path: Path, db, actor: Actor,
                                                 monkeypatch, row_counts) -> None:
    import threading

    monkeypatch.setattr(record_writer, "PART_ROWS", 4)
    path = _file(tmp_path / "big.csv")
    before = row_counts()
    cancel = threading.Event()
    write_many = record_writer.RecordWriter.write_many
    parts: list[int] = []

    def written(*args: Any, **kwargs: Any) -> list[int]:
        ids = write_many(*args, **kwargs)
        parts.append(len(ids))
        if len(parts) == 2:
            cancel.set()  # the user cancels while the third part is read
        return ids

    monkeypatch.setattr(record_writer.RecordWriter, "write_many", written)
    with pytest.raises(ImportCancelled):
        do_import(actor, path, cancel=cancel)
    assert len(parts) == 2
    assert row_counts() == before
    assert m.Source.select().where(m.Source.name == "Партнёр нового года").count() == 0


def _people(path: Path) -> Path:
    rows = [["Фамилия", "Имя", "Телефон", "Организация"]]
    for i in range(14):
        rows.append([f"Петров{i}", "Иван", f"+7 926 300-00-{i:02d}", f"ООО Новая {i % 3}"])
    rows[9][2] = "+7 926 300-00-01"  # the phone of an earlier person
    return write_csv(path, rows)


def _people_stored() -> dict[str, Any]:
    db = current()
    return {
        "people": sorted(tuple(r) for r in db.execute_sql(
            "SELECT c.last_name, c.primary_phone, o.name FROM contact c"
            " LEFT JOIN organization o ON o.id = c.organization_id")),
        "organizations": sorted(r[0] for r in db.execute_sql("SELECT name FROM organization")),
        "documents": db.execute_sql("SELECT COUNT(*) FROM search_doc").fetchone()[0],
    }


def test_people_in_parts_create_their_new_organizations_once(tmp_path: Path, db,
                                                             actor: Actor,
                                                             monkeypatch) -> None:
    monkeypatch.setattr(record_writer, "PART_ROWS", 4)
    path = _people(tmp_path / "people.csv")
    found = {}
    for streamed in (False, True):
        monkeypatch.setattr(writing, "streams", lambda table, options, s=streamed: s)
        with current().atomic() as transaction:
            result = do_import(actor, path, kind="contacts")
            found[streamed] = ([(o.row, o.outcome, o.reason) for o in result.outcomes],
                               _people_stored())
            transaction.rollback()
    assert found[True] == found[False]
    outcomes, stored = found[True]
    assert stored["organizations"] == ["ООО Новая 0", "ООО Новая 1", "ООО Новая 2"]
    assert len(stored["people"]) == 13 and stored["documents"] == 16


def test_people_documents_name_their_new_organizations_written_later(
        tmp_path: Path, db, actor: Actor, monkeypatch) -> None:
    """A part's people name organizations this part creates; on SQLite those are written on
    the write-behind thread, maybe after the people's search documents are made. Held back
    on purpose here, the documents still name them (the import gives the writer the names
    it knows instead of looking them up)."""
    import time

    from tui_crm.db import bulk

    monkeypatch.setattr(record_writer, "PART_ROWS", 4)
    monkeypatch.setattr(writing, "streams", lambda table, options: True)
    later = bulk._WriteBehind.later

    def slow(self: Any, job: Any) -> None:
        def held() -> object:
            time.sleep(0.02)  # the caller goes on meanwhile
            return job()
        later(self, held)

    monkeypatch.setattr(bulk._WriteBehind, "later", slow)
    do_import(actor, _people(tmp_path / "people.csv"), kind="contacts")
    bodies = [r[0] for r in current().execute_sql(
        "SELECT body FROM search_doc WHERE kind = 'contacts'")]
    assert len(bodies) == 13
    assert all("ооо новая" in body for body in bodies)
    # An organization's contact person (a linked contact) names it too.
    rows = [["Наименование", "Контактное лицо"]]
    rows += [[f"ЗАО Связь {i}", f"Сидоров{i} Пётр"] for i in range(10)]
    do_import(actor, write_csv(tmp_path / "orgs.csv", rows))
    bodies = {title: body for title, body in current().execute_sql(
        "SELECT title, body FROM search_doc WHERE kind = 'contacts'")
        if title.startswith("Сидоров")}
    assert len(bodies) == 10
    assert all(f"зао связь {title[7:title.index(' ')]}" in body
               for title, body in bodies.items())
