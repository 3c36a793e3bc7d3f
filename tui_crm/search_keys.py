"""How a search document's key names its record: `id × 16 + kind code`. Plain constants,
so a read-only search (`tui-crm find`) can use them without loading the database layer."""

from __future__ import annotations

# Kinds indexed for quick search; the number is packed into the row key.
KIND_CODES = {
    "organizations": 1,
    "contacts": 2,
    "tasks": 3,
    "events": 4,
    "notes": 5,
    "links": 6,
    "deals": 7,
}
CODE_KINDS = {v: k for k, v in KIND_CODES.items()}
KEY_SHIFT = 16


def doc_key(kind: str, record_id: int) -> int:
    return record_id * KEY_SHIFT + KIND_CODES[kind]


def split_key(key: int) -> tuple[str, int]:
    return CODE_KINDS[key % KEY_SHIFT], key // KEY_SHIFT
