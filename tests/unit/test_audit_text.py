"""The audit log in human terms: section and field labels, choice labels, record titles,
values as cards show them; never the codes the database stores."""

from __future__ import annotations

import pytest

from tui_crm.i18n import set_language
from tui_crm.services.core import audit, audit_text, records
from tui_crm.services.core.rights import Actor


@pytest.fixture
def russian():
    set_language("ru")
    yield
    set_language("en")


def test_a_change_reads_as_a_person_would_say_it(actor: Actor, russian) -> None:  # noqa: ANN001
    org = records.create(actor, "organizations", {"name": "Ромашка", "source": "Website",
                                                  "status": "lead"})
    records.update(actor, "organizations", org.id, {"status": "client"})
    task = records.create(actor, "tasks", {"title": "Позвонить", "organization": org.id,
                                           "due_at": "2026-12-07 09:30"})
    records.delete(actor, "tasks", task.id)
    lines = audit_text.describe(audit.history(limit=50))
    texts = [line.text() for line in lines]
    status = next(line for line in lines if line.field == "Статус")
    assert status.action == "изменил(а)" and status.section == "Организации"
    assert status.record == "«Ромашка»" and status.change == "Лид → Клиент"
    assert "изменил(а) Организации «Ромашка»: Статус Лид → Клиент" in texts
    assert any(t.startswith("удалил(а) Задачи «Позвонить»") for t in texts), texts
    joined = "\n".join(texts)
    for code in ("update", "organizations", "'lead'", "#"):
        assert code not in joined, code


def test_values_shown_as_in_cards(actor: Actor, russian) -> None:  # noqa: ANN001
    org = records.create(actor, "organizations", {"name": "Альфа", "source": "Website"})
    deal = records.create(actor, "deals", {"title": "Поставка", "organization": org.id,
                                           "amount": "488000"})
    records.update(actor, "deals", deal.id, {"amount": "1500.5", "stage": "won"})
    event = records.create(actor, "events", {"event_type": "call", "organization": org.id,
                                             "starts_at": "2026-12-07 09:30"})
    records.update(actor, "events", event.id, {"starts_at": "2026-12-08 10:00"})
    changes = {line.field: line.change for line in audit_text.describe(audit.history(limit=50))
               if line.field}
    assert changes["Сумма"] == "488\u00a0000,00 → 1\u00a0500,50"  # as cards: no-break spaces
    assert changes["Этап"] == "Новая → Выиграна"
    assert changes["Начало"] == "07.12.2026 09:30 → 08.12.2026 10:00"
