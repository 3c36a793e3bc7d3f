"""Where tui-crm keeps its files (platformdirs). Nothing happens at import time."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "tui-crm"


def data_dir() -> Path:
    """The user's data folder (database, demo database, backups)."""
    override = os.environ.get("TUI_CRM_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    override = os.environ.get("TUI_CRM_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def default_database_path() -> Path:
    return data_dir() / "crm.sqlite3"


def demo_database_path() -> Path:
    return data_dir() / "demo.sqlite3"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def templates_dir() -> Path:
    return data_dir() / "templates"
