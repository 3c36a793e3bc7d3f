"""Which module names are schema migration steps (`mNNNN_what.py`): plain code, so a
read-only command can tell the current schema version without loading the database layer."""

from __future__ import annotations

from collections.abc import Iterable


def step_names(module_names: Iterable[str]) -> list[tuple[int, str]]:
    """(number, module name) of every step among these module names, in order."""
    return sorted((int(name[1:5]), name) for name in module_names
                  if name.startswith("m") and name[1:5].isdigit())
