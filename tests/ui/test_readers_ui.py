"""The UI opens and shows its first rows while another process holds the write lock (a long
import), on SQLite and PostgreSQL; a reminder due at start-up is claimed once the database
is free instead of freezing the screen until then."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.ui.conftest import fill, screen_text, settle
from tests.write_lock import write_lock_held
from tui_crm.services.core import records, users
from tui_crm.ui.app import build_app


@pytest.fixture
def filled(db, db_target: str) -> str:
    """The fixed data set, and a reminder of the admin's that is due now."""
    data = fill(users.resolve_actor())
    soon = dt.datetime.now() + dt.timedelta(minutes=10)
    records.create(data.admin, "events", {
        "event_type": "call", "title": "Перезвонить", "starts_at": f"{soon:%Y-%m-%d %H:%M}",
        "organization": data.orgs["romashka"], "assignee": data.admin.user_id,
        "reminder_minutes": "15"})
    db.close()
    return db_target


async def test_the_ui_opens_and_shows_rows_while_another_process_writes(filled: str) -> None:
    # Held for less than `write`'s retries (~21 s): a start-up that waited for the lock
    # would get it only when the holder lets go, and `still_held()` would say so.
    with write_lock_held(filled, seconds=15) as holder:
        app = build_app(filled, section="organizations")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            text = screen_text(app)
            assert "Ромашка" in text and "Ёлка-Палка" in text
            assert app.main_screen.table.total == 6
            app.check_reminders()  # as at start-up: the database is busy, so not now
            assert app.reminders_shown == []
            assert holder.still_held()
            holder.release()
            app.check_reminders()  # the next check, the database free again
            await settle(pilot)
            assert [r.title.split(" ", 1)[1] for r in app.reminders_shown] == ["Перезвонить"]
