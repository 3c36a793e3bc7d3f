"""Four processes writing to one database at once: no error reaches the caller, and no
update is lost.

Each process does read-modify-write increments of a shared number through the services,
the way a user would: open the record, change it, save with the version seen; on a
conflict, look again and redo the change. Between increments it creates records too.
"""

from __future__ import annotations

import multiprocessing
import traceback

from tui_crm.services.core import audit, records
from tui_crm.services.core.rights import Actor

PROCESSES = 4
INCREMENTS = 200
# PostgreSQL runs writers side by side, so a stale save costs a round trip more often;
# half the increments prove the same thing there in reasonable time.
PG_INCREMENTS = 100
CREATE_EVERY = 10


def _worker(target: str, login: str, org_id: int, worker: int, increments: int) -> dict:
    """One session: returns its conflict count and every unexpected error (as text)."""
    from tui_crm.db import open_database
    from tui_crm.errors import ConflictError
    from tui_crm.i18n import set_language
    from tui_crm.services.core import records as recs
    from tui_crm.services.core import users as usrs

    set_language("en")
    conflicts = 0
    errors: list[str] = []
    try:
        db = open_database(target)
        me = usrs.actor_for(login)
        for i in range(increments):
            while True:
                view = recs.get(me, "organizations", org_id)
                try:
                    recs.update(me, "organizations", org_id,
                                {"cadence_days": view.values["cadence_days"] + 1},
                                expected_version=view.version)
                    break
                except ConflictError as exc:
                    # Someone saved in between; nothing of ours was written.
                    assert exc.current.version > view.version
                    conflicts += 1
            if i % CREATE_EVERY == 0:
                recs.create(me, "notes", {"title": f"Заметка {worker}-{i}",
                                          "organization": org_id})
        db.close()
    except Exception:  # anything but a conflict is a failure the user would see
        errors.append(traceback.format_exc())
    return {"worker": worker, "conflicts": conflicts, "errors": errors}


def test_four_processes_lose_no_update(db, db_target: str, actor: Actor) -> None:
    org = records.create(actor, "organizations", {"name": "Общий счётчик", "status": "client",
                                                  "cadence_days": 0})
    increments = PG_INCREMENTS if db_target.startswith("postgres") else INCREMENTS
    db.close()  # the children open their own connections
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_worker, [(db_target, actor.login, org.id, n, increments)
                                         for n in range(PROCESSES)])
    db.connect(reuse_if_open=True)

    assert [r["errors"] for r in results] == [[]] * PROCESSES
    total = PROCESSES * increments
    final = records.get(actor, "organizations", org.id)
    assert final.values["cadence_days"] == total
    assert final.version == 1 + total
    notes = records.list_records(actor, "notes", records.ListQuery(limit=1000))
    assert notes.total == PROCESSES * (increments // CREATE_EVERY)
    assert len({n.title for n in notes.rows}) == notes.total
    updates = audit.history("organizations", org.id, action="update", limit=10_000)
    assert len(updates) == total
    # Every step of the counter was written exactly once, by someone.
    assert sorted(int(e.new) for e in updates) == list(range(1, total + 1))
