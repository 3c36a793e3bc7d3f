"""What the user chose for an import: the section, the columns' targets, what to do with
duplicates, the defaults for empty cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportOptions:
    kind: str = "organizations"
    mapping: dict[int, str] | None = None  # None: auto_mapping
    on_duplicate: str = "skip"  # skip / merge / create: rows surely the same as another
    on_possible: str = "create"  # create / skip / merge: rows possibly the same (a namesake)
    defaults: dict[str, Any] = field(default_factory=dict)  # for rows without the value
    create_missing: bool = True  # unknown sources, groups, contacts' organizations
