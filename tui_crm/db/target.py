"""A database target as a person gives it: a file path or a URL (no peewee, no driver)."""

from __future__ import annotations

import os


def is_url(target: str) -> bool:
    return "://" in target


def describe(target: str | os.PathLike) -> str:
    """The target without a password, for messages."""
    text = str(target)
    if is_url(text) and "@" in text:
        scheme, rest = text.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return text
