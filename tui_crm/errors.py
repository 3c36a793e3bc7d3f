"""Errors a user can cause: each carries a one-line, translated message.

Services raise these; the CLI prints `str(error)` and exits non-zero; the UI shows it
next to a field or in a toast. Anything else reaching the top is a bug.
"""

from __future__ import annotations

from typing import Any


class CrmError(Exception):
    """Base of every expected, user-facing failure."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(CrmError):
    """One or more field values are wrong; `errors` maps field name → message."""

    exit_code = 2

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        first = "; ".join(f"{field}: {msg}" for field, msg in self.errors.items())
        super().__init__(first)


class NotFound(CrmError):
    exit_code = 3


class ConflictError(CrmError):
    """Someone else saved the record since it was read: nothing was written."""

    exit_code = 4

    def __init__(self, message: str, *, current: Any = None, changes: dict | None = None):
        super().__init__(message)
        self.current = current
        self.changes = changes or {}


class PermissionDenied(CrmError):
    exit_code = 5


class DatabaseProblem(CrmError):
    """The database cannot be opened or written (missing folder, locked, read-only, newer)."""

    exit_code = 6
