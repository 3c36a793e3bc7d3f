"""Messages and small result types shared by the UI's screens and widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass(frozen=True)
class OpenRecord:
    """A request to open a record (e.g. the duplicate a form found) in its section."""

    kind: str
    id: int


class SettingsChanged(Message):
    """Sections, labels, custom fields, theme or language changed: rebuild what shows them."""


class RecordChanged(Message):
    """A record was created, edited, deleted or restored from this session."""

    def __init__(self, kind: str, record_id: int) -> None:
        super().__init__()
        self.kind = kind
        self.record_id = record_id
