"""Another process holding the database's write lock, for tests of what must not wait for it.

On SQLite the child takes `BEGIN IMMEDIATE` and writes a row it never commits; on
PostgreSQL (no database-wide lock) it locks every table IN EXCLUSIVE MODE, which lets plain
reads through but blocks any write or row lock. The child holds on until the test releases
it or `seconds` pass, whichever comes first: a reader that waited for the lock would come
back only after the release (`still_held()` is then False) or fail with "locked".
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

HOLD_SECONDS = 60.0  # an upper bound; the test releases the lock as soon as it is done

_SQLITE_HOLDER = """
import select, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO tag (name) VALUES ('held by another process')")
print("held", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))  # until released or the time is up
conn.execute("ROLLBACK")
print("released", flush=True)
"""

_PG_HOLDER = """
import select, sys
import psycopg2
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor()
cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
tables = ", ".join('"%s"' % name for (name,) in cur.fetchall())
cur.execute("LOCK TABLE " + tables + " IN EXCLUSIVE MODE")
cur.execute("INSERT INTO tag (name) VALUES ('held by another process')")
print("held", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
conn.rollback()
print("released", flush=True)
"""

# Children that hit a PostgreSQL lock give up after a while instead of hanging the test.
PG_CHILD_ENV = {"PGOPTIONS": "-c lock_timeout=15s"}


class Holder:
    def __init__(self, target: str, proc: subprocess.Popen[str]) -> None:
        self.target = target
        self.proc = proc

    def still_held(self) -> bool:
        """The child has not let go yet (it lets go only when released or out of time)."""
        if self.proc.poll() is not None:
            return False
        if "://" in self.target:
            return True  # the child rolls back only when it exits
        probe = sqlite3.connect(self.target, isolation_level=None, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()

    def release(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(30)


@contextmanager
def write_lock_held(target: str, seconds: float = HOLD_SECONDS) -> Iterator[Holder]:
    """Another process holds the write lock of `target` (a SQLite path or PostgreSQL URL)."""
    script = _PG_HOLDER if "://" in target else _SQLITE_HOLDER
    proc = subprocess.Popen([sys.executable, "-c", script, target, str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holder = Holder(target, proc)
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        assert line == "held", f"the lock holder did not start: {line!r}"
        assert holder.still_held()
        yield holder
    finally:
        holder.release()
