"""`tui_crm.text` holds pure rules: importing any of its modules, in a fresh interpreter,
loads no database layer, no UI and no service (so `tui-crm find`, the importer's workers and
any later restructure can use them freely)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import tui_crm.text

MODULES = sorted(f"tui_crm.text.{m.name}" for m in pkgutil.iter_modules(tui_crm.text.__path__))
FORBIDDEN = ("peewee", "textual", "psycopg2", "tui_crm.services", "tui_crm.db", "tui_crm.ui",
             "tui_crm.cli")


def test_the_package_has_its_rules() -> None:
    assert {"tui_crm.text.phones", "tui_crm.text.identity", "tui_crm.text.names",
            "tui_crm.text.dates"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_a_rule_module_loads_nothing_of_the_database_ui_or_services(module: str) -> None:
    code = (f"import sys, json, {module}; "
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    loaded = json.loads(done.stdout)
    assert module in loaded  # the probe really imported it
    bad = [name for name in loaded if name.startswith(FORBIDDEN)]
    assert bad == []
