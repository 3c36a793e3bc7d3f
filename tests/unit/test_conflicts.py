"""Version conflicts between two connections: a stale edit is refused, nothing is lost.

peewee keeps one connection per thread, so "the other user" works in another thread with
its own connection to the same database (file or server).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tui_crm.errors import ConflictError
from tui_crm.services.core import audit, records, users
from tui_crm.services.core.rights import Actor


def in_other_connection(db, fn: Callable[[], Any]) -> Any:  # noqa: ANN001
    """Run `fn` in another thread, i.e. on a second database connection, and return its
    result (or raise its exception here)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc
        finally:
            db.close()  # this thread's connection only

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture
def other(db, actor: Actor) -> Actor:
    users.add_user(actor, "olga", role="head", full_name="Ольга Смирнова")
    return users.actor_for("olga")


@pytest.fixture
def org(db, actor: Actor) -> records.RecordView:
    return records.create(actor, "organizations", {
        "name": "Ромашка", "status": "client", "city": "Москва", "phones": ["+7 916 123 45 67"],
        "tags": ["vip"]})


def test_stale_update_raises_conflict_with_changes(db, actor: Actor, other: Actor,
                                                   org: records.RecordView) -> None:
    mine = records.get(actor, "organizations", org.id)  # the form opens
    theirs = in_other_connection(db, lambda: records.update(
        other, "organizations", org.id, {"city": "Казань"}, expected_version=mine.version))
    assert theirs.version == 2

    with pytest.raises(ConflictError) as err:
        records.update(actor, "organizations", org.id, {"city": "Тула", "category": "vip"},
                       expected_version=mine.version)
    conflict = err.value
    assert conflict.changes == {"city": ("Казань", "Тула"), "category": ("none", "vip")}
    assert conflict.current.version == 2
    assert conflict.current.values["city"] == "Казань"
    assert conflict.current.updated_by == "Ольга Смирнова"
    assert "Ольга Смирнова" in str(conflict)
    assert "\n" not in str(conflict)

    now = records.get(actor, "organizations", org.id)
    assert now.version == 2
    assert now.values["city"] == "Казань"
    assert now.values["category"] == "none"
    assert [e.new for e in audit.history("organizations", org.id, action="update")] == ["Казань"]

    # The user looks at the other change and saves again on top of it.
    merged = records.update(actor, "organizations", org.id, {"category": "vip"},
                            expected_version=conflict.current.version)
    assert merged.version == 3
    assert merged.values["city"] == "Казань"
    assert merged.values["category"] == "vip"


def test_conflict_on_points_and_tags(db, actor: Actor, other: Actor,
                                     org: records.RecordView) -> None:
    in_other_connection(db, lambda: records.update(
        other, "organizations", org.id, {"tags": ["vip", "опт"]}, expected_version=1))
    with pytest.raises(ConflictError) as err:
        records.update(actor, "organizations", org.id, {"tags": ["новый"]}, expected_version=1)
    assert err.value.changes == {"tags": (["vip", "опт"], ["новый"])}
    assert records.get(actor, "organizations", org.id).tags == ["vip", "опт"]


def test_delete_in_other_connection_moves_the_version(db, actor: Actor, other: Actor,
                                                      org: records.RecordView) -> None:
    in_other_connection(db, lambda: records.delete(other, "organizations", org.id))
    in_other_connection(db, lambda: records.restore(other, "organizations", org.id))
    with pytest.raises(ConflictError) as err:
        records.update(actor, "organizations", org.id, {"city": "Тула"}, expected_version=1)
    assert err.value.current.version == 3
    assert records.get(actor, "organizations", org.id).values["city"] == "Москва"


def test_edits_of_different_fields_without_version_both_survive(
        db, actor: Actor, other: Actor, org: records.RecordView) -> None:
    in_other_connection(db, lambda: records.update(other, "organizations", org.id,
                                                   {"city": "Казань"}))
    records.update(actor, "organizations", org.id, {"category": "good"})
    final = records.get(actor, "organizations", org.id)
    assert final.values["city"] == "Казань"
    assert final.values["category"] == "good"
    assert final.version == 3


def test_second_connection_sees_committed_changes(db, actor: Actor,
                                                  org: records.RecordView) -> None:
    records.update(actor, "organizations", org.id, {"city": "Омск"})
    seen = in_other_connection(db, lambda: records.get(actor, "organizations", org.id))
    assert seen.values["city"] == "Омск"
    assert seen.version == 2
