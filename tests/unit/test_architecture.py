"""The architecture: the core (tui_crm.db, tui_crm.services) never depends on the terminal UI
(Textual), the import-linter contracts in pyproject.toml hold, and tui_crm has no import
cycle — imports inside functions included."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

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


ROOT = PACKAGE.parent

# Import cycles allowed, as the imports that close them (importer, imported): none. An entry
# that no longer exists fails the test, so the set cannot go stale.
ALLOWED_CYCLE_IMPORTS: set[tuple[str, str]] = set()


def test_the_import_linter_contracts_are_kept() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import "
                           "lint_imports; sys.exit(lint_imports(no_cache=True))"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def import_graph(package: str = "tui_crm") -> dict[str, set[str]]:
    """Every module of the package → its modules it imports anywhere in its source (grimp
    reads imports inside functions and under `if TYPE_CHECKING` too)."""
    graph = grimp.build_graph(package, cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) & graph.modules
            for m in graph.modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        # Tarjan's algorithm, iterative: (module, iterator over what it imports).
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(sorted(component))
    return found


def test_cycles_finds_direct_and_long_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_a_cycle_hidden_in_a_function_is_found(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "cycle_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def late():\n    from cycle_probe import b\n    return b\n")
    (package / "b.py").write_text("from cycle_probe import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cycles(import_graph("cycle_probe")) == [["cycle_probe.a", "cycle_probe.b"]]


def test_tui_crm_has_no_import_cycle_beyond_the_known_ones() -> None:
    graph = import_graph()
    stale = {edge for edge in ALLOWED_CYCLE_IMPORTS if edge[1] not in graph.get(edge[0], ())}
    assert stale == set(), "no longer imported: remove from ALLOWED_CYCLE_IMPORTS"
    for importer, imported in ALLOWED_CYCLE_IMPORTS:
        graph[importer].discard(imported)
    assert cycles(graph) == []


# Switching the cyclic collector is process-wide: only the start-up may do it.
GC_SWITCHES = {"disable", "enable", "freeze", "unfreeze", "set_threshold", "collect"}
GC_SWITCHERS = {"tui_crm.process", "tui_crm.ui.app"}  # start-up: cli main, the app's run_app


def _gc_switches(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [f"{node.func.attr}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "gc"
            and node.func.attr in GC_SWITCHES]


def test_only_the_start_up_switches_the_garbage_collector() -> None:
    found = {module_name(p): _gc_switches(p) for p in sorted(PACKAGE.rglob("*.py"))}
    assert {m for m, calls in found.items() if calls} == GC_SWITCHERS


def test_the_program_sets_the_collector_at_start_up() -> None:
    script = ("import gc, sys\nfrom tui_crm.cli.main import main\nfrom tui_crm.process import "
              "COLLECTOR_THRESHOLDS\nsys.argv = ['tui-crm', '--help']\ntry:\n    main()\n"
              "finally:\n    print(gc.get_threshold() == COLLECTOR_THRESHOLDS, gc.isenabled())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.stdout.splitlines()[-1] == "True True", done.stderr


def test_the_vendored_peewee_stub_is_the_installed_one_plus_marked_lines() -> None:
    """typings/peewee is peewee's own stub plus lines marked `# tui-crm:` (see its header):
    after a peewee upgrade this fails until the copy is refreshed or dropped."""
    import importlib.metadata

    installed = next(f for f in importlib.metadata.files("peewee") or ()
                     if str(f).endswith("peewee-stubs/__init__.pyi"))
    ours = (ROOT / "typings" / "peewee" / "__init__.pyi").read_text(encoding="utf-8")
    lines = ours.splitlines()
    while lines and lines[0].startswith("#"):  # our header
        lines.pop(0)
    kept = [line for line in lines if "# tui-crm:" not in line]
    assert kept == installed.read_text(encoding="utf-8").splitlines()
    assert sum("# tui-crm:" in line for line in lines) == 3
