"""Footer keys of the planning screens follow the language chosen when they open (N_ at
class level, translated per instance), not the language at import time."""

from __future__ import annotations

from tui_crm import i18n
from tui_crm.ui.screens.log_result import MoveModal
from tui_crm.ui.screens.reminders import RemindersModal


def _descriptions(node: object) -> dict[str, str]:
    return {b.id: b.description for bindings in node._bindings.key_to_bindings.values()
            for b in bindings if b.id}


def test_planning_modals_translate_their_keys_when_opened() -> None:
    try:
        i18n.set_language("ru")
        assert _descriptions(MoveModal("x"))["move.cancel"] == "Отмена"
        assert _descriptions(RemindersModal(None, []))["reminders.tomorrow"] == "Завтра"
        i18n.set_language("en")
        assert _descriptions(MoveModal("x"))["move.cancel"] == "Cancel"
    finally:
        i18n.set_language("en")
