"""The core (tui_crm.db, tui_crm.services) never depends on the terminal UI (Textual)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import tui_crm

PACKAGE = Path(tui_crm.__file__).parent
CORE = ("db", "services")
FORBIDDEN = ("textual", "tui_crm.ui")


def core_modules() -> list[Path]:
    return sorted(p for part in CORE for p in (PACKAGE / part).rglob("*.py"))


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else \
        module_name(path).rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                names.append(".".join(base + ([node.module] if node.module else [])))
            else:
                names.append(node.module or "")
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_there_is_core_code_to_check() -> None:
    names = {module_name(p) for p in core_modules()}
    assert {"tui_crm.db", "tui_crm.db.database", "tui_crm.services.core.records",
            "tui_crm.services.search.search"} <= names


def test_core_sources_never_import_the_ui() -> None:
    offenders = {module_name(p): [n for n in _imported(p) if _forbidden(n)]
                 for p in core_modules()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_core_loads_no_ui() -> None:
    modules = [module_name(p) for p in core_modules()]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] == 'textual' or m.startswith('tui_crm.ui'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=PACKAGE.parent, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
