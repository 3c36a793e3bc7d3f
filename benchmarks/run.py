"""Measure tui-crm's speed on a large base and print each figure with its baseline.

`python -m benchmarks` (100k organizations, 200k contacts, 1M events, 1M payments) or
`python -m benchmarks --quick` (10× smaller, under two minutes once the data exists).
Every figure is measured several times (median, min, max) and compared with a baseline
measured in the same run on the same machine: ratios are what counts. Nothing here is a
pass/fail test; the table says which targets are met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import smtplib
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from benchmarks import bulk_insert
from benchmarks import data as bench_data
from tui_crm.search_keys import ID_BITS, ID_MASK

PY = sys.executable
QUERY = "иван"


@dataclass
class Figure:
    name: str
    target: str
    values: list[float]  # seconds (or MB / msg per s where `unit` says so)
    baseline: list[float] | None = None
    unit: str = "ms"
    limit: float | None = None  # absolute limit in `unit`
    max_ratio: float | None = None  # ratio limit against the baseline
    min_ratio: float | None = None
    max_extra: float | None = None  # limit in `unit` on the median above the baseline's
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def scaled(self, values: list[float]) -> list[float]:
        return [v * 1000 for v in values] if self.unit == "ms" else list(values)

    @property
    def median(self) -> float:
        return statistics.median(self.scaled(self.values))

    @property
    def base_median(self) -> float | None:
        return statistics.median(self.scaled(self.baseline)) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        base = self.base_median
        return self.median / base if base else None

    @property
    def met(self) -> bool:
        ok = True
        if self.limit is not None:
            ok &= (self.median >= self.limit) if self.unit == "msg/s" else self.median <= self.limit
        if self.max_ratio is not None and self.ratio is not None:
            ok &= self.ratio <= self.max_ratio
        if self.min_ratio is not None and self.ratio is not None:
            ok &= self.ratio >= self.min_ratio
        if self.max_extra is not None and self.base_median is not None:
            ok &= self.median - self.base_median <= self.max_extra
        return ok

    def to_dict(self) -> dict[str, Any]:
        scaled = self.scaled(self.values)
        return {"figure": self.name, "target": self.target, "unit": self.unit,
                "median": round(self.median, 3), "min": round(min(scaled), 3),
                "max": round(max(scaled), 3),
                "baseline_median": None if self.base_median is None
                else round(self.base_median, 3),
                "ratio": None if self.ratio is None else round(self.ratio, 3),
                "met": self.met, "notes": self.notes, **self.extra}


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("TUI_CRM_LANG", "en")
    return env


def run_process(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one new process. The RSS is the child's own
    high-water mark, printed as `RSS_MB n` (wait4's ru_maxrss counts the parent's pages
    the child had before exec)."""
    start = time.perf_counter()
    proc = subprocess.run(args, env=env or _env(), capture_output=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        raise RuntimeError(f"{' '.join(args[:4])}… failed: {err.strip()[-400:]}")
    return wall, _reported(proc.stdout + proc.stderr).get("RSS_MB", 0.0)


def _reported(output: bytes) -> dict[str, float]:
    """The `NAME value` lines a measured process printed (RSS_MB, PEAK_MB)."""
    found = {}
    for line in output.decode(errors="replace").splitlines():
        name, _, value = line.partition(" ")
        if name in ("RSS_MB", "PEAK_MB"):
            found[name] = float(value)
    return found


BARE_APP = """
from textual.app import App
from textual.widgets import DataTable
class Bare(App):
    def compose(self):
        yield DataTable()
    def on_mount(self):
        t = self.query_one(DataTable); t.add_columns("a", "b"); t.add_row("1", "2")
        self.call_after_refresh(self.exit)
Bare().run(headless=True)
print("RSS_MB", int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
"""

# `tui-crm --db BASE --section organizations`, the command line's own start-up path, plus the
# line that reports the process's peak RSS.
CRM_APP = """
import sys
from tui_crm.cli.main import main
sys.argv = ["tui-crm", "--db", sys.argv[1], "--section", "organizations"]
code = main()
print("RSS_MB", int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
sys.exit(code)
"""

# The app on the benchmark base as `run_app` starts it (collector tuned and paused until the
# first page), every section of the sidebar visited once in its order, then the process's
# resident memory now (VmRSS) and at its highest (VmHWM).
CRM_SECTIONS = """
import asyncio, gc, sys
from tui_crm.process import tune_collector
tune_collector()
gc.disable()
from tui_crm.ui.app import build_app
app = build_app(sys.argv[1], section="organizations")
app.poll_seconds = 0

def status(field):
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0]) / 1024

async def visit():
    async with app.run_test(size=(160, 50)) as pilot:
        async def settle():
            for _ in range(3):  # a pane's first read may start another worker
                await app.workers.wait_for_complete()
                await pilot.pause()
        await settle()
        for key, _name in app.section_names():
            app.go_to_section(key)
            await settle()
        await asyncio.sleep(2)  # the first look at the last section (the app rests)
        await settle()
        print("RSS_MB", status("VmRSS"))
        print("PEAK_MB", status("VmHWM"))

asyncio.run(visit())
"""

# --- figures ----------------------------------------------------------------------------------


def fig_startup(db: Path, repeat: int) -> tuple[Figure, Figure]:
    env = _env(TUI_CRM_EXIT_WHEN_READY="1", TEXTUAL_HEADLESS="1")
    bare = [run_process([PY, "-c", BARE_APP]) for _ in range(repeat)]
    crm = [run_process([PY, "-c", CRM_APP, str(db)], env) for _ in range(repeat)]
    start = Figure("start to a usable Organizations table (new process)",
                   "≤ 1.5 × bare Textual app", [w for w, _ in crm], [w for w, _ in bare],
                   max_ratio=1.5)
    memory = Figure("memory of the UI with the base open (peak RSS)", "≤ 150 MB",
                    [r for _, r in crm], [r for _, r in bare], unit="MB", limit=150)
    return start, memory


async def _ui_figures(db: Path, repeat: int, history_org: int) -> list[Figure]:
    """UI figures in the real app under the pilot. Keys are posted the way the terminal
    driver posts them and the time runs until the table paints the new state (the pilot's
    `press()` adds idle waits of its own, ~100 ms, that a user never sees)."""
    from textual import events

    from tui_crm.ui.app import build_app
    from tui_crm.ui.widgets.record_table import RecordTable

    painted: list[tuple[float, str, int, int | None, bool]] = []
    original = RecordTable.render_lines

    def render_lines(self, crop):  # noqa: ANN001, ANN202 - Textual's signature
        lines = original(self, crop)
        painted.append((time.perf_counter(), self.list_query.text, self.cursor_row,
                        self.current_id, self.busy))
        return lines

    RecordTable.render_lines = render_lines

    async def until(predicate, timeout: float = 30.0) -> float:  # noqa: ANN001
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            for entry in painted:
                if predicate(entry):
                    return entry[0]
            await asyncio.sleep(0.0005)
        raise TimeoutError("the table did not repaint")

    # As `run_app` starts the UI: the collector paused until the first page is up, then the
    # objects alive by then (here also the earlier figures' leftovers) frozen out of its
    # sight — otherwise each full collection re-scans them in the middle of a keystroke.
    import gc

    gc.disable()
    app = build_app(str(db), section="organizations")
    app.poll_seconds = 0
    figures: list[Figure] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            async def settle() -> None:
                await app.workers.wait_for_complete()
                await pilot.pause()

            await settle()
            main = app.main_screen
            table = main.query_one(RecordTable)
            total = table.total

            keys: list[float] = []
            for _ in range(repeat):
                main.filter_bar.input.focus()
                await settle()
                typed = ""
                for ch in QUERY:
                    typed += ch
                    painted.clear()
                    start = time.perf_counter()
                    app.post_message(events.Key(ch, ch))
                    if len(typed) >= 3:  # 1–2 letters wait for more keys on purpose
                        keys.append(await until(lambda e, t=typed: e[1] == t and not e[4])
                                    - start)
                    await settle()
                for _ch in QUERY:
                    app.post_message(events.Key("backspace", None))
                    await settle()
            figures.append(Figure("keystroke in the filter → table shows the result",
                                  "≤ 50 ms", keys, limit=50, extra={"rows": total}))

            table.focus()
            await settle()
            # A table that has been open a moment has its row index (ids in order, loaded in
            # the background once the list rests); the moves are measured from then on.
            deadline = time.perf_counter() + 30
            while not table.indexed and time.perf_counter() < deadline:
                await pilot.pause(0.05)
            # A move is timed from the key (posted as the driver posts it) until the table
            # paints the cursor's new row with its record; the card follows after that paint
            # and is its own figure below.
            moves: dict[str, list[float]] = {"end": [], "pagedown": [], "jump": []}
            for _ in range(repeat):
                for name in moves:
                    table.move_cursor(0)
                    await settle()
                    painted.clear()
                    start = time.perf_counter()
                    if name == "jump":  # e.g. a click in the middle of the scroll bar
                        target = total // 2
                        table.move_cursor(target)
                    else:
                        target = total - 1 if name == "end" else table.visible_rows
                        app.post_message(events.Key(name, None))
                    moves[name].append(await until(
                        lambda e, t=target: e[2] == t and e[3] is not None) - start)
                    await settle()
            for name, values in moves.items():
                figures.append(Figure(f"table of {total:,} rows: {name}", "≤ 50 ms", values,
                                      limit=50))

            app.open_record("organizations", history_org)
            await settle()
            detail = main.detail
            detail.query_one("TabbedContent").active = "history"
            await settle()
            cards = timed(lambda: detail.show_record("organizations", history_org, force=True),
                          repeat)
            figures.append(Figure("open a card with 500 events of history (card + history)",
                                  "≤ 50 ms", cards, limit=50))

            for section in ("today", "followups"):
                app.go_to_section(section)
                await settle()
                pane = main.query_one(f"#pane-{section}").children[0]
                values = timed(pane.reload, repeat)
                figures.append(Figure(f"open {section.capitalize()} (read and draw the pane)",
                                      "≤ 100 ms", values, limit=100))
    finally:
        RecordTable.render_lines = original
        gc.enable()
    return figures


def fig_ui(db: Path, repeat: int, history_org: int) -> list[Figure]:
    os.environ.setdefault("TUI_CRM_LANG", "en")
    return [*asyncio.run(_ui_figures(db, repeat, history_org)), fig_sections_memory(db, repeat)]


def fig_sections_memory(db: Path, repeat: int) -> Figure:
    """Resident memory of a new UI process once it has shown every section (panes left
    behind stay mounted), against the bare Textual app of the start-up figure."""
    env = _env(TEXTUAL_HEADLESS="1")
    bare = [run_process([PY, "-c", BARE_APP])[1] for _ in range(repeat)]
    now: list[float] = []
    peaks: list[float] = []
    for _ in range(repeat):
        proc = subprocess.run([PY, "-c", CRM_SECTIONS, str(db)], env=env, capture_output=True,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")
            raise RuntimeError(f"visiting every section failed: {err.strip()[-400:]}")
        found = _reported(proc.stdout)
        now.append(found["RSS_MB"])
        peaks.append(found["PEAK_MB"])
    return Figure("memory after visiting every section (RSS)", "≤ 120 MB", now, bare,
                  unit="MB", limit=120, notes=f"peak RSS median {statistics.median(peaks):.0f} MB",
                  extra={"peak_mb": round(statistics.median(peaks), 1)})


def _raw_fts(db: Path, text: str) -> Callable[[], Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def run() -> Any:
        return conn.execute("SELECT rowid, title FROM search_doc WHERE search_doc MATCH ?"
                            " LIMIT 30", (f'"{text}"',)).fetchall()
    return run


def fig_search(db: Path, repeat: int) -> list[Figure]:
    from tui_crm.db import open_database
    from tui_crm.services.core import records, users
    from tui_crm.services.search import search

    open_database(db)
    actor = users.resolve_actor()
    queries = ["иван", "ромашка", "петров", "северный", "ооо"]
    quick = timed(lambda: [search.quick_search(actor, q) for q in queries], repeat)
    raws = [_raw_fts(db, q) for q in queries]
    raw = timed(lambda: [r() for r in raws], repeat)
    per = len(queries)
    figures = [Figure("global quick search, 7 sections (per query)", "≤ 30 ms",
                      [v / per for v in quick], [v / per for v in raw], limit=30)]
    filt = timed(lambda: records.list_records(actor, "organizations",
                                              records.ListQuery(text=QUERY, limit=100)), repeat)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def raw_filter() -> None:
        # The same index query as tui-crm's (organizations' documents: one range of keys).
        ids = ("SELECT rowid & ? FROM search_doc WHERE search_doc MATCH ?"
               " AND rowid BETWEEN ? AND ?")
        params = (ID_MASK, f'"{QUERY}"', 1 << ID_BITS, (2 << ID_BITS) - 1)
        conn.execute(f"SELECT COUNT(*) FROM organization WHERE deleted_at IS NULL AND id IN"
                     f" ({ids})", params).fetchone()
        conn.execute(f"SELECT * FROM organization WHERE deleted_at IS NULL AND id IN ({ids})"
                     f" ORDER BY name, id LIMIT 100", params).fetchall()

    raw_f = timed(raw_filter, repeat)
    figures.append(Figure("filter query for the table (count + first page)",
                          "≤ 2 × the raw query", filt, raw_f, max_ratio=2.0))
    figures.extend(fig_manager(queries, repeat, raws))
    return figures


MANAGER = "ivanov"  # a demo manager: "own" visibility, a tenth of the base


def fig_manager(queries: list[str], repeat: int, raws: list[Callable[[], Any]]
                ) -> list[Figure]:
    """The same reads as a manager who sees only their own clients: every record kind is
    narrowed to what follows those clients (services/visibility.py), in SQL."""
    from tui_crm.services.core import records, users
    from tui_crm.services.search import search

    manager = users.actor_for(MANAGER)
    per = len(queries)
    quick = timed(lambda: [search.quick_search(manager, q) for q in queries], repeat)
    raw = timed(lambda: [r() for r in raws], repeat)
    figures = [Figure("global quick search as a manager (own clients), per query",
                      "≤ 30 ms", [v / per for v in quick], [v / per for v in raw], limit=30)]
    for kinds, what in ((("organizations", "contacts"), "organizations / contacts"),
                        (("notes", "payments", "events"), "notes / payments / events")):
        pages = timed(lambda kinds=kinds: [records.list_records(
            manager, kind, records.ListQuery(limit=100)) for kind in kinds], repeat)
        figures.append(Figure(f"a manager's table: {what} (count + first page, per section)",
                              "≤ 100 ms", [v / len(kinds) for v in pages], limit=100))
    filt = timed(lambda: records.list_records(manager, "organizations",
                                              records.ListQuery(text=QUERY, limit=100)), repeat)
    figures.append(Figure("a manager's filter query (count + first page)", "≤ 100 ms", filt,
                          limit=100))
    return figures


def fig_find_process(db: Path, repeat: int) -> Figure:
    raw = ("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
           " print(c.execute('SELECT rowid, title FROM search_doc WHERE search_doc MATCH ?"
           " LIMIT 30', ('\"иван\"',)).fetchall()[:1])")
    base = [run_process([PY, "-c", raw, str(db)])[0] for _ in range(repeat)]
    crm = [run_process([PY, "-m", "tui_crm", "--db", str(db), "find", QUERY])[0]
           for _ in range(repeat)]
    return Figure("`tui-crm find TEXT`, new process", "≤ 3 × a one-shot python -c sqlite3",
                  crm, base, max_ratio=3.0)


def fig_segmentation(db: Path, repeat: int) -> Figure:
    from tui_crm.db import open_database
    from tui_crm.services.analytics import segmentation
    from tui_crm.services.core import users

    open_database(db)
    actor = users.resolve_actor()
    period = "2025-12..2026-11"
    values = timed(lambda: segmentation.segment(actor, "payments", period, "lenient",
                                                per_month=True), repeat)
    return Figure("segmentation, 12 months per month", "≤ 1 s", values, unit="ms",
                  limit=1000)


def _raw_read(path: Path) -> list[Any]:
    """The file's rows read the plainest way: the csv module or python-calamine alone."""
    if path.suffix == ".csv":
        import csv as csv_module

        with open(path, encoding="utf-8-sig", newline="") as fh:
            return list(csv_module.reader(fh, delimiter=";"))[1:]
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[1:]


def _bare_insert(rows: list[Any], label: str) -> None:
    """The raw rows into one table without indexes (the first, bare baseline)."""
    conn = sqlite3.connect(bench_data.folder() / "scratch" / f"raw-{label}.sqlite3")
    conn.execute("DROP TABLE IF EXISTS raw")
    conn.execute("CREATE TABLE raw (a, b, c, d, e, f, g, h, i, j)")
    conn.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def _prepared(name: str) -> Path:
    """A new empty tui-crm database with the acting user registered (as before an import)."""
    from tui_crm.db import open_database
    from tui_crm.services.core import users

    path = bench_data.empty_copy(name)
    db = open_database(path)
    users.resolve_actor()
    db.close()
    return path


def fig_import(data: bench_data.BenchData, repeat: int) -> list[Figure]:
    """Import into a new empty database, against two baselines measured in the same round:
    the honest one (the raw file read, then plain executemany of exactly the rows this
    import wrote — records, contact points, search documents, undo items, run and audit
    rows — into the same tables with the same indexes and triggers, on a fresh copy of the
    same empty database, under the same connection settings and FTS5 buffer size), and
    the bare one (the raw read into one table without indexes)."""
    from tui_crm.db import open_database, search_index
    from tui_crm.db.database import SQLITE_PRAGMAS
    from tui_crm.services.core import users
    from tui_crm.services.transfer import importing

    figures = []
    for path, label in ((data.csv_file, "csv"), (data.xlsx_file, "xlsx")):
        crm, honest, bare = [], [], []
        for n in range(repeat):
            target = _prepared(f"import-{label}-{n}.sqlite3")
            marks = bench_data.table_marks(target)
            db = open_database(target)
            actor = users.resolve_actor()
            start = time.perf_counter()
            result = importing.import_file(actor, path, importing.ImportOptions(
                kind="organizations", on_duplicate="skip"))
            crm.append(time.perf_counter() - start)
            db.close()
            if result.created + result.skipped != data.rows:  # a lost row would be a bug
                raise RuntimeError(f"import of {path.name}: {result.created} created, "
                                   f"{result.skipped} skipped of {data.rows}")

            raw = _prepared(f"raw-import-{label}.sqlite3")
            start = time.perf_counter()
            _raw_read(path)
            read = time.perf_counter() - start
            fts = {"hashsize": search_index.BULK_HASHSIZE} if data.rows >= 5000 else {}
            insert, written = bench_data.raw_insert(target, marks, raw, pragmas=SQLITE_PRAGMAS,
                                                    fts=fts)
            if written != bench_data.new_rows(target, marks):
                raise RuntimeError(f"the honest baseline wrote {written}, the import "
                                   f"{bench_data.new_rows(target, marks)}")
            honest.append(read + insert)

            start = time.perf_counter()
            _bare_insert(_raw_read(path), label)
            bare.append(time.perf_counter() - start)
        tables = ", ".join(f"{t} {n:,}" for t, n in written.items())
        figures.append(Figure(f"import {data.rows:,}-row .{label} into organizations",
                              "≤ 1.5 × raw read + the same rows by executemany", crm, honest,
                              unit="s", max_ratio=1.5,
                              notes=f"baseline writes the same rows: {tables}; no ANALYZE"))
        figures.append(Figure(f"import {data.rows:,}-row .{label}, against one bare table",
                              "for reference (raw read + one bare table)", crm, bare,
                              unit="s"))
    return figures


def fig_read(data: bench_data.BenchData, repeat: int) -> list[Figure]:
    """Reading the import files alone: the product's reader against the raw library."""
    from tui_crm.services.transfer import importing

    figures = []
    for path, label in ((data.csv_file, "csv"), (data.xlsx_file, "xlsx")):
        crm, base = [], []
        for _ in range(repeat):  # alternated, so a busy moment hits both alike
            crm += timed(lambda p=path: importing.read_table(p), 1)
            base += timed(lambda p=path: _raw_read(p), 1)
        library = "the csv module" if label == "csv" else "python-calamine"
        figures.append(Figure(f"read the {data.rows:,}-row .{label} (import's reader)",
                              f"≤ 2 × {library} alone", crm, base, unit="s", max_ratio=2.0))
    return figures


def fig_demo(data: bench_data.BenchData, repeat: int) -> Figure:
    """`tui-crm demo` of the benchmark's size into a new empty database (a new process),
    against plain executemany of the same generated rows into a fresh copy of the same
    empty database under the demo's own settings (foreign-key checks off, a 256 MB page
    cache, FTS5 merging deferred with a 64 MB buffer, as `bulk.bulk_load` sets)."""
    from tui_crm.db.database import SQLITE_PRAGMAS

    sizes = data.sizes
    args = ["--orgs", str(sizes["orgs"]), "--contacts", str(sizes["contacts"]),
            "--events", str(sizes["events"]), "--payments", str(sizes["payments"]),
            "--seed", "1"]
    pragmas = {**SQLITE_PRAGMAS, "foreign_keys": 0, "cache_size": -262144}
    fts = {"automerge": 0, "hashsize": 64 * 1024 * 1024}
    crm, base = [], []
    written: dict[str, int] = {}
    for n in range(repeat):
        target = bench_data.empty_copy(f"demo-{n}.sqlite3")
        marks = bench_data.table_marks(target)
        crm.append(run_process([PY, "-m", "tui_crm", "--db", str(target), "demo", *args])[0])
        raw = bench_data.empty_copy("raw-demo.sqlite3")
        seconds, written = bench_data.raw_insert(target, marks, raw, pragmas=pragmas, fts=fts)
        if written != bench_data.new_rows(target, marks):
            raise RuntimeError(f"the demo baseline wrote {written}, the demo "
                               f"{bench_data.new_rows(target, marks)}")
        base.append(seconds)
        for leftover in target.parent.glob(target.name + "*"):  # a big file each round
            leftover.unlink()
    total = sum(written.values())
    return Figure(f"`tui-crm demo` {sizes['orgs']:,} orgs into a new file (new process)",
                  "no worse than before (± 10 %)", crm, base, unit="s",
                  notes=f"baseline: the same {total:,} rows by executemany in "
                        f"{len(written)} tables, without process start, optimize, ANALYZE",
                  extra={"rows": total})


def _raw_export_sql(columns: list[Any]) -> str:
    """One SQLite query giving the cells of an organizations export the plainest way: the
    table's own columns as stored, referenced names by LEFT JOIN, phones / e-mails /
    messengers and tags by group_concat — the same rows and columns tui-crm writes, without
    its formatting (labels, dates, type names), so the baseline is a fair raw write."""
    joins = {"owner": 'LEFT JOIN user u ON u.id = o.owner_id',
             "group": 'LEFT JOIN "group" g ON g.id = o.group_id',
             "source": "LEFT JOIN source s ON s.id = o.source_id"}
    names = {"owner": "COALESCE(NULLIF(u.full_name, ''), u.login)", "group": "g.name",
             "source": "s.name"}
    points = {"phones": "phone", "emails": "email", "messengers": "messenger"}
    exprs, used = [], []
    for col in columns:
        if col.type in points:
            exprs.append("(SELECT group_concat(p.value, '; ') FROM contact_point p WHERE"
                         f" p.organization_id = o.id AND p.kind = '{points[col.type]}')")
        elif col.type == "tags":
            exprs.append("(SELECT group_concat(t.name, ', ') FROM tag_link l JOIN tag t"
                         " ON t.id = l.tag_id WHERE l.kind = 'organizations'"
                         " AND l.record_id = o.id)")
        elif col.name in names:
            exprs.append(names[col.name])
            used.append(joins[col.name])
        else:
            exprs.append(f"o.{col.name}")
    return (f"SELECT {', '.join(exprs)} FROM organization o {' '.join(used)}"
            " WHERE o.deleted_at IS NULL ORDER BY o.name, o.id")


def fig_export(db: Path, repeat: int) -> list[Figure]:
    import csv as csv_module

    from openpyxl import Workbook

    from tui_crm.db import open_database
    from tui_crm.services.core import users
    from tui_crm.services.transfer import exporting

    open_database(db)
    actor = users.resolve_actor()
    out = Path(tempfile.mkdtemp())
    # The baseline writes the same rows and columns as the export (all fields of the
    # section, phones and tags included), not just the table's few default columns.
    columns = exporting.columns("organizations")
    sql = _raw_export_sql(columns)
    figures = []
    for fmt in ("csv", "xlsx"):
        def crm(fmt: str = fmt) -> None:
            exporting.export(actor, "organizations", out / f"orgs.{fmt}")

        def raw(fmt: str = fmt) -> None:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            rows = conn.execute(sql).fetchall()
            conn.close()
            if fmt == "csv":
                with open(out / "raw.csv", "w", newline="", encoding="utf-8") as fh:
                    csv_module.writer(fh).writerows(rows)
            else:
                wb = Workbook(write_only=True)
                sheet = wb.create_sheet()
                for row in rows:
                    sheet.append(row)
                wb.save(out / "raw.xlsx")

        if fmt == "csv":  # one untimed round: the first run would read the pages from disk
            crm()
            raw()
        # Alternated, so a busy moment on a shared machine hits both alike.
        crm_times, base = [], []
        for _ in range(repeat):
            crm_times += timed(crm, 1)
            base += timed(raw, 1)
        figures.append(Figure(f"export organizations to .{fmt}",
                              "≤ 1.5 × raw write with the writer library", crm_times, base,
                              unit="s", max_ratio=1.5,
                              notes=f"baseline: the same {len(columns)} columns by one SQL query",
                              extra={"columns": len(columns)}))
    return figures


def fig_mailing(data: bench_data.BenchData, count: int, repeat: int) -> Figure:
    from aiosmtpd.controller import Controller

    from tui_crm.db import open_database
    from tui_crm.services.core import users
    from tui_crm.services.mail import accounts, mailings, recipients, runner, templates

    class Sink:
        def __init__(self) -> None:
            self.count = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
            self.count += 1
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        db = bench_data.scratch_copy(data, "mailing.sqlite3")
        open_database(db)
        actor = users.resolve_actor()
        accounts.add_account(actor, "bench", host="127.0.0.1", port=port, security="none",
                            from_address="bench@example.com")
        templates.add_template(actor, "price", subject="Прайс-лист",
                             body="Здравствуйте, {{ contact.first_name }}!")
        conn = sqlite3.connect(db)
        ids = [r[0] for r in conn.execute(
            "SELECT c.id FROM contact c WHERE c.deleted_at IS NULL AND c.opt_out = 0 AND"
            " c.primary_email != '' ORDER BY c.id LIMIT ?", (count,))]
        conn.close()
        crm, base, sent = [], [], 0
        for _ in range(repeat):  # rounds alternate, so a busy moment hits both sides
            # Baseline: a plain smtplib loop, one connection, the same number of messages.
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for n in range(count):
                    msg = EmailMessage()
                    msg["From"], msg["To"] = "bench@example.com", f"r{n}@example.com"
                    msg["Subject"] = "Прайс-лист"
                    msg.set_content(f"Здравствуйте, клиент {n}!")
                    smtp.send_message(msg)
            base.append(count / (time.perf_counter() - start))
            # A new mailing to the same people each round (each is sent once, as always).
            made = mailings.create_mailing(actor, template="price", account="bench",
                                          source=recipients.RecipientSource(kind="contacts",
                                                                         ids=ids))
            start = time.perf_counter()
            report = runner.send(actor, made.id, options=runner.SendOptions(test_first=False))
            sent = getattr(report, "sent", len(ids))
            crm.append(sent / (time.perf_counter() - start))
    finally:
        controller.stop()
    return Figure("mailing to the local SMTP server", "≥ 80 % of a plain smtplib loop",
                  crm, base, unit="msg/s", min_ratio=0.8, extra={"messages": sent})


# Another session holding the write lock: BEGIN IMMEDIATE, then wait until stdin closes or
# the time is up (argv: database, seconds).
LOCK_HOLDER = """
import select, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
conn.execute("ROLLBACK")
"""

# A long import in another process: the benchmark's import file, again and again (argv:
# database, file), until it is stopped. Each round holds the write lock from its start and
# is rolled back at its end, so every read (and the baseline) sees the same data.
IMPORT_LOOP = """
import sys
from tui_crm.db import open_database
from tui_crm.services.core import users
from tui_crm.services.transfer import importing
db = open_database(sys.argv[1])
actor = users.resolve_actor()
print("importing", flush=True)
while True:
    with db.atomic() as round_:
        importing.import_file(actor, sys.argv[2], importing.ImportOptions(
            kind="organizations", on_duplicate="create"))
        round_.rollback()
"""


def _write_locked(db: Path) -> bool:
    """Another connection holds the write lock right now (a probe that does not wait)."""
    probe = sqlite3.connect(db, isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _readers(db: Path, show_id: int) -> dict[str, list[str]]:
    """The read-only commands measured, each a new process as a user types it."""
    crm = [PY, "-m", "tui_crm", "--db", str(db)]
    return {"list": [*crm, "list", "organizations"],
            "show": [*crm, "show", "organizations", str(show_id)],
            "find": [*crm, "find", QUERY],
            "UI": [PY, "-c", CRM_APP, str(db)]}


def fig_concurrency(data: bench_data.BenchData, repeat: int, hold: float) -> list[Figure]:
    """Readers while another process writes: (a) `list` during a long import, (b) list,
    show, find and opening the UI while another process holds the write lock for `hold`
    seconds. Each against the same command with no writer."""
    db = bench_data.scratch_copy(data, "concurrency.sqlite3")
    commands = _readers(db, data.history_org)
    ui_env = _env(TUI_CRM_EXIT_WHEN_READY="1", TEXTUAL_HEADLESS="1")

    def run(name: str) -> float:
        return run_process(commands[name], ui_env if name == "UI" else None)[0]

    for name in commands:  # one untimed round: the first would read the pages from disk
        run(name)
    quiet = {name: [run(name) for _ in range(repeat)] for name in commands}

    # (a) `list` while the import runs: only reads that start while it holds the write lock
    # are counted (between two rounds it is briefly free).
    wanted = max(5, 2 * repeat)
    importer = subprocess.Popen([PY, "-c", IMPORT_LOOP, str(db), str(data.csv_file)],
                                env=_env(), stdout=subprocess.PIPE, text=True)
    during: list[float] = []
    try:
        if importer.stdout is None or importer.stdout.readline().strip() != "importing":
            raise RuntimeError("the import did not start")
        deadline = time.monotonic() + 300
        while len(during) < wanted and time.monotonic() < deadline:
            if not _write_locked(db):
                time.sleep(0.02)
                continue
            during.append(run("list"))
            if importer.poll() is not None:
                raise RuntimeError("the import stopped")
    finally:
        importer.kill()
        importer.wait()
    if not during:
        raise RuntimeError("no read overlapped the import's write")
    figures = [Figure(f"`tui-crm list` during a {data.rows:,}-row import (new process)",
                      "≤ no writer + 100 ms", during, quiet["list"], max_extra=100,
                      notes="reads started while the import held the write lock",
                      extra={"reads": len(during)})]
    # The import also takes a core: the same reads beside a process that only burns CPU
    # (no database) tell how much of the difference is the machine, not the database.
    burner = subprocess.Popen([PY, "-c", "while True: pass"])
    try:
        busy = [run("list") for _ in range(len(during))]
    finally:
        burner.kill()
        burner.wait()
    figures.append(Figure("`tui-crm list` beside a CPU-bound process (no writer)",
                          "reference for the line above", busy, quiet["list"]))

    # (b) the write lock held by another process for the whole measurement.
    holder = subprocess.Popen([PY, "-c", LOCK_HOLDER, str(db), str(hold)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    locked: dict[str, list[float]] = {name: [] for name in commands}
    try:
        if holder.stdout is None or holder.stdout.readline().strip() != "held":
            raise RuntimeError("the lock holder did not start")
        started = time.monotonic()
        # Rounds until the hold is nearly over: every read in it finds the lock taken.
        longest = 0.0
        while not locked["UI"] or time.monotonic() - started + longest < hold - 1.0:
            begun = time.monotonic()
            for name in commands:
                locked[name].append(run(name))
            longest = max(longest, time.monotonic() - begun)
        if not _write_locked(db):
            raise RuntimeError("the lock was let go before the reads ended")
        held_for = time.monotonic() - started
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait()
    for name, values in locked.items():
        what = "open the UI to the first rows" if name == "UI" else f"`tui-crm {name}`"
        figures.append(Figure(f"{what}, write lock held {hold:.0f} s by another process",
                              "succeeds, ≤ no writer + 100 ms", values, quiet[name],
                              max_extra=100, extra={"held_s": round(held_for, 1)}))
    return figures


# --- output -----------------------------------------------------------------------------------


def table(figures: list[Figure]) -> str:
    lines = [f"{'figure':<58} {'median':>9} {'min':>9} {'max':>9} {'baseline':>10} "
             f"{'ratio':>6}  unit   target"]
    for f in figures:
        scaled = f.scaled(f.values)
        base = f"{f.base_median:.1f}" if f.base_median is not None else "—"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        targeted = (f.limit, f.max_ratio, f.min_ratio) != (None, None, None)
        mark = ("ok" if f.met else "MISSED") if targeted else "reference"
        lines.append(f"{f.name[:58]:<58} {f.median:>9.1f} {min(scaled):>9.1f} "
                     f"{max(scaled):>9.1f} {base:>10} {ratio:>6}  {f.unit:<6} {f.target} [{mark}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10× smaller data, fewer repeats")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--only", action="append", default=None,
                        help="run only these groups: startup ui search find segmentation "
                             "import export mailing concurrency demo bulk")
    args = parser.parse_args(argv)
    # The collector set as the program's own start-up sets it (`tui_crm.process`).
    from tui_crm.process import tune_collector

    tune_collector()
    repeat = args.repeat or (3 if args.quick else 5)
    os.environ.setdefault("TUI_CRM_LANG", "en")
    # Keep the user's own data and settings out of it.
    scratch_home = tempfile.mkdtemp(prefix="tui-crm-bench-")
    os.environ["TUI_CRM_DATA_DIR"] = scratch_home
    os.environ["TUI_CRM_CONFIG_DIR"] = scratch_home
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    started = time.perf_counter()
    # New processes must start the way an installed tool does, from compiled bytecode: an
    # editable install under PYTHONDONTWRITEBYTECODE would compile every module on every
    # start (~80 ms here), which pip's installed libraries (the baselines) never pay.
    import compileall

    import tui_crm

    compileall.compile_dir(Path(tui_crm.__file__).parent, quiet=1)
    data = bench_data.ensure(args.quick, args.seed, log)
    groups = set(args.only or ["startup", "ui", "search", "find", "segmentation", "import",
                               "export", "mailing", "concurrency", "demo", "bulk"])
    figures: list[Figure] = []
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("startup", lambda: figures.extend(fig_startup(data.database, repeat))),
        ("search", lambda: figures.extend(fig_search(data.database, repeat))),
        ("find", lambda: figures.append(fig_find_process(data.database, repeat))),
        ("segmentation", lambda: figures.append(fig_segmentation(data.database, repeat))),
        ("ui", lambda: figures.extend(fig_ui(data.database, max(2, repeat // 2),
                                             data.history_org))),
        ("export", lambda: figures.extend(fig_export(data.database, max(2, repeat // 2)))),
        ("import", lambda: figures.extend(fig_import(data, 2 if args.quick else 3)
                                          + fig_read(data, repeat))),
        ("demo", lambda: figures.append(fig_demo(data, 2))),
        ("bulk", lambda: figures.extend(bulk_insert.figures(
            Figure, 50_000 if args.quick else 200_000, repeat))),
        ("mailing", lambda: figures.append(fig_mailing(data, 200 if args.quick else 1000,
                                                       repeat))),
        ("concurrency", lambda: figures.extend(fig_concurrency(data, repeat,
                                                               15.0 if args.quick else 40.0))),
    ]
    for name, step in steps:
        if name in groups:
            log(f"measuring {name}…")
            step()
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({"sizes": data.sizes, "seconds": round(elapsed, 1),
                          "figures": [f.to_dict() for f in figures]}, ensure_ascii=False,
                         indent=2))
    else:
        print(f"\nData: {data.sizes}  ({elapsed:.0f} s)\n")
        print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
