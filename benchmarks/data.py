"""The benchmark's data: a database of 100k organizations, 200k contacts, 1M events and
1M payments (10× smaller with --quick), generated once per seed and reused, plus a card
with 500 events of history and the 100k-row .xlsx and .csv files to import."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FULL = {"orgs": 100_000, "contacts": 200_000, "events": 1_000_000, "payments": 1_000_000}
QUICK = {k: v // 10 for k, v in FULL.items()}
HISTORY_EVENTS = 500
TODAY = dt.date(2026, 11, 27)  # fixed, so one seed gives one database


@dataclass(frozen=True)
class BenchData:
    database: Path  # the generated base (read-only for the figures: copy before writing)
    csv_file: Path
    xlsx_file: Path
    history_org: int  # an organization with HISTORY_EVENTS events
    rows: int  # rows in the import files
    sizes: dict[str, int]


def folder() -> Path:
    base = os.environ.get("TUI_CRM_BENCH_DIR")
    if base:
        return Path(base)
    from platformdirs import user_cache_path

    return user_cache_path("tui-crm", appauthor=False) / "bench"


def _header() -> list[str]:
    return ["Наименование", "ИНН", "Город", "Адрес", "Телефон", "E-mail", "Сайт", "Отрасль",
            "Статус", "Источник"]


def _import_rows(count: int, seed: int) -> list[list[str]]:
    """Rows unlike the base's (new INNs, phones, e-mails), so the import creates them all."""
    import random

    from tui_crm.text.identity import make_inn10

    rng = random.Random(seed + 99)
    cities = ["Москва", "Казань", "Тверь", "Самара", "Омск", "Пермь", "Тула", "Сочи"]
    words = ["Альфа", "Вектор", "Гранит", "Дельта", "Заря", "Импульс", "Кедр", "Лотос",
             "Меридиан", "Нива", "Орбита", "Прогресс", "Радуга", "Сфера", "Титан", "Унион"]
    rows = []
    for i in range(count):
        name = f"{rng.choice(words)}-{rng.choice(words)} {i}"
        inn = make_inn10(f"99{i:07d}")
        phone = f"+7 (9{rng.randrange(10, 99)}) {rng.randrange(100, 999)}-{i % 100:02d}-" \
                f"{(i // 100) % 100:02d}"
        rows.append([name, inn, rng.choice(cities), f"ул. Лесная, {i % 200 + 1}", phone,
                     f"office{i}@bench-{i % 97}.ru", f"bench{i}.ru", "Торговля", "Лид",
                     "Выставка"])
    return rows


def _write_files(target: Path, count: int, seed: int) -> tuple[Path, Path]:
    csv_path = target / f"import-{count}.csv"
    xlsx_path = target / f"import-{count}.xlsx"
    if csv_path.exists() and xlsx_path.exists():
        return csv_path, xlsx_path
    rows = _import_rows(count, seed)
    with open(csv_path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(_header())
        writer.writerows(rows)
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Клиенты")
    sheet.append(_header())
    for row in rows:
        sheet.append(row)
    workbook.save(xlsx_path)
    return csv_path, xlsx_path


def _add_history(path: Path) -> int:
    """One organization with a long history (500 events), for the card figure."""
    conn = sqlite3.connect(path)
    try:
        org_id = conn.execute("SELECT MIN(id) FROM organization").fetchone()[0]
        have = conn.execute("SELECT COUNT(*) FROM event WHERE organization_id = ?",
                            (org_id,)).fetchone()[0]
        if have < HISTORY_EVENTS:
            user = conn.execute("SELECT owner_id FROM organization WHERE id = ?",
                                (org_id,)).fetchone()[0]
            call, result = conn.execute(
                "SELECT t.id, r.id FROM event_type t JOIN event_result r ON r.event_type_id = t.id"
                " WHERE t.code = 'call' ORDER BY r.id LIMIT 1").fetchone()
            start = dt.datetime(2024, 1, 1, 10, 0)
            rows = [(call, f"History {n}", (start + dt.timedelta(days=n)).isoformat(" "), org_id,
                     user, "done", result, "", "", "", 1, start.isoformat(" "),
                     start.isoformat(" "))
                    for n in range(HISTORY_EVENTS - have)]
            conn.executemany(
                "INSERT INTO event (event_type_id, title, starts_at, organization_id, assignee_id,"
                " status, result_id, result_note, next_step, rrule, version, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.commit()
        return org_id
    finally:
        conn.close()


def ensure(quick: bool, seed: int, log=print) -> BenchData:  # noqa: ANN001 - a print-like
    """The database and files for this size and seed, generating what is missing."""
    sizes = QUICK if quick else FULL
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"base-{sizes['orgs']}-{seed}.sqlite3"
    if not path.exists():
        log(f"generating {sizes} into {path} (once per seed)…")
        partial = path.with_suffix(".partial")
        for leftover in target.glob(partial.name + "*"):
            leftover.unlink()
        from tui_crm.db import open_database
        from tui_crm.services.ops import demo

        db = open_database(partial)
        demo.generate(orgs=sizes["orgs"], contacts=sizes["contacts"], events=sizes["events"],
                      payments=sizes["payments"], seed=seed, today=TODAY)
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        shutil.move(partial, path)
    history_org = _add_history(path)
    csv_path, xlsx_path = _write_files(target, sizes["orgs"], seed)
    return BenchData(path, csv_path, xlsx_path, history_org, sizes["orgs"], sizes)


def scratch_copy(data: BenchData, name: str) -> Path:
    """A writable copy of the base for figures that change it."""
    target = folder() / "scratch"
    target.mkdir(exist_ok=True)
    copy = target / name
    for leftover in target.glob(name + "*"):
        leftover.unlink()
    src = sqlite3.connect(f"file:{data.database}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    return copy


def empty_copy(name: str) -> Path:
    """A new, empty tui-crm database (for the import figure)."""
    target = folder() / "scratch"
    target.mkdir(exist_ok=True)
    path = target / name
    for leftover in target.glob(name + "*"):
        leftover.unlink()
    from tui_crm.db import open_database

    open_database(path).close()
    return path


# --- copying what a run wrote, for the honest baselines -----------------------------------------

_FTS_SHADOWS = ("data", "idx", "content", "docsize", "config")


def _tables(conn: sqlite3.Connection) -> list[str]:
    """The tables a writer fills itself, parents before children: no SQLite internals, no
    FTS5 shadow tables, no table that only triggers fill (the monthly summaries)."""
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master"
                        " WHERE type IN ('table', 'trigger') ORDER BY rowid").fetchall()
    virtual = [name for kind, name, sql in rows
               if kind == "table" and sql and sql.upper().startswith("CREATE VIRTUAL")]
    shadows = {f"{v}_{s}" for v in virtual for s in _FTS_SHADOWS}
    by_trigger = set()
    for kind, _name, sql in rows:
        if kind == "trigger":
            by_trigger.update(w.strip('"') for w in re.findall(r"INSERT INTO (\S+)", sql))
    names = [name for kind, name, _sql in rows if kind == "table"
             and not name.startswith("sqlite_") and name not in shadows
             and name not in by_trigger]
    parents = {name: {r[2] for r in conn.execute(f'PRAGMA foreign_key_list("{name}")')
                      if r[2] != name} for name in names}
    ordered: list[str] = []
    while len(ordered) < len(names):  # a topological order, stable in creation order
        ready = [n for n in names if n not in ordered
                 and parents[n] <= set(ordered) | (parents[n] - set(names))]
        ordered.extend(ready or [n for n in names if n not in ordered])
    return ordered


def table_marks(path: Path) -> dict[str, int]:
    """The highest rowid of each table a writer fills, before it runs."""
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f'SELECT COALESCE(MAX(rowid), 0) FROM "{t}"').fetchone()[0]
                for t in _tables(conn)}
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    names = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    if sql.upper().startswith("CREATE VIRTUAL"):  # the FTS5 key is its rowid
        names.insert(0, "rowid")
    return names


def raw_insert(source: Path, marks: dict[str, int], target: Path, *,
               pragmas: dict[str, Any], fts: dict[str, int]) -> tuple[float, dict[str, int]]:
    """Insert the rows `source` gained after `marks` into `target` (the same empty database
    it started as) with plain `executemany`, one table after the other in one transaction,
    under the same connection settings as the product (`pragmas`, the FTS5 `fts` options).
    Returns the seconds the inserts and the commit took (each table's rows are read from
    `source` off the clock, one table at a time) and the rows written per table."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, isolation_level=None)
    seconds, written = 0.0, {}
    try:
        for key, value in pragmas.items():
            dst.execute(f"PRAGMA {key} = {value}")
        dst.execute("BEGIN IMMEDIATE")
        for key, value in fts.items():
            dst.execute("INSERT INTO search_doc (search_doc, rank) VALUES (?, ?)", (key, value))
        for table, mark in marks.items():
            columns = _columns(src, table)
            names = ", ".join(f'"{c}"' if c != "rowid" else c for c in columns)
            rows = src.execute(f'SELECT {names} FROM "{table}" WHERE rowid > ?'
                               f" ORDER BY rowid", (mark,)).fetchall()
            if not rows:
                continue
            marks_sql = ", ".join("?" for _c in columns)
            start = time.perf_counter()
            dst.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks_sql})', rows)
            seconds += time.perf_counter() - start
            written[table] = len(rows)
            del rows
        start = time.perf_counter()
        dst.execute("COMMIT")
        seconds += time.perf_counter() - start
    finally:
        src.close()
        dst.close()
    return seconds, written


def new_rows(path: Path, marks: dict[str, int]) -> dict[str, int]:
    """How many rows each table gained after `marks` (to check a baseline wrote as many)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}" WHERE rowid > ?',
                                  (mark,)).fetchone()[0] for t, mark in marks.items()}
        return {t: n for t, n in counts.items() if n}
    finally:
        conn.close()
