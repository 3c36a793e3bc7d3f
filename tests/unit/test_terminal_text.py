"""Record fields shown on a terminal: control codes escaped, everything else as it is, and
the CLI's text output (tables, cards, hits, history, warnings) always passing through that
one rule while --json keeps the data exact."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import tui_crm
from tests.unit.test_cli import Cli, cli, dbfile, env  # noqa: F401 - fixtures
from tui_crm.terminal_text import UNSAFE, json_text, visible

UNSAFE_CHAR = re.compile(f"[{UNSAFE}]")
# A window title, a bell, a screen clear, an 8-bit CSI and a right-to-left override.
EVIL = "Evil\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eabc"
SHOWN = "Evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eabc"

unsafe_chars = st.sampled_from([chr(c) for c in (*range(0x20), *range(0x7F, 0xA0),
                                                 *range(0x202A, 0x202F), *range(0x2066, 0x206A))])
any_text = st.text(st.one_of(st.characters(), unsafe_chars))


@given(any_text)
def test_escaped_text_holds_no_control_or_bidi_character(text: str) -> None:
    assert UNSAFE_CHAR.search(visible(text)) is None


@given(any_text)
def test_kept_newlines_and_tabs_are_the_only_controls_left(text: str) -> None:
    shown = visible(text, keep="\n\t")
    assert {ch for ch in shown if UNSAFE_CHAR.match(ch)} <= {"\n", "\t"}
    assert shown.count("\n") == text.count("\n") and shown.count("\t") == text.count("\t")


@given(st.text(st.characters(blacklist_characters=[ch for ch in map(
    chr, range(0x2070)) if UNSAFE_CHAR.match(ch)])))
def test_text_without_them_is_unchanged(text: str) -> None:
    assert visible(text) == text


@given(any_text)
def test_each_character_is_shown_once_and_escaping_twice_changes_nothing(text: str) -> None:
    shown = visible(text)
    assert visible(shown) == shown
    assert len(shown) == len(text) + sum(3 if ord(ch) < 0x100 else 5
                                         for ch in text if UNSAFE_CHAR.match(ch))


@given(st.recursive(st.none() | any_text | st.integers(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(any_text, inner, max_size=4), max_leaves=12))
def test_json_stays_exact_and_safe(data: object) -> None:
    dumped = json_text(json.dumps(data, ensure_ascii=False, indent=2))
    assert json.loads(dumped) == data
    assert {ch for ch in dumped if UNSAFE_CHAR.match(ch)} <= {"\n"}


def test_cyrillic_emoji_and_an_example() -> None:
    assert visible("Ромашка 🌼 «ООО»") == "Ромашка 🌼 «ООО»"
    assert visible(EVIL) == SHOWN


# --- the command line -------------------------------------------------------------------------


def _evil_org(cli: Cli) -> int:  # noqa: F811 - the fixture's type
    return int(cli.ok("add", "orgs", f"name={EVIL}", "source=Website",
                      "city=Тверь\x1b[31m").strip())


def _clean(text: str) -> None:
    assert {ch for ch in text if UNSAFE_CHAR.match(ch)} <= {"\n", "\t"}


def test_list_show_find_and_history_print_the_escaped_form(cli: Cli) -> None:  # noqa: F811
    org = _evil_org(cli)
    outputs = {
        "list": cli.ok("list", "orgs"),
        "show": cli.ok("show", "orgs", str(org)),
        "find": cli.ok("find", "evil"),
    }
    cli.ok("edit", "orgs", str(org), "name=Plain")
    outputs["history"] = cli.ok("history", "orgs", str(org))
    for command, out in outputs.items():
        _clean(out)
        assert "Evil\\x1b]0;pwned" in out, command
    assert "Тверь\\x1b[31m" in outputs["show"]
    assert "Name   Evil\\x1b]0;pwned\\x07\\x1b[2J" in outputs["history"]  # cut at 40
    # The table is aligned as shown: the rule under the headers is as wide as the row.
    row = next(line for line in outputs["find"].splitlines() if "Evil" in line)
    assert len(row) <= len(outputs["find"].splitlines()[1])


def test_warnings_and_errors_quoting_data_are_escaped(cli: Cli) -> None:  # noqa: F811
    _evil_org(cli)
    code, out, err = cli("add", "orgs", f"name={EVIL}", "source=Website")
    assert code == 0
    _clean(err)
    assert "possible duplicate" in err and "Evil\\x1b]0;pwned" in err


def test_json_keeps_the_exact_value(cli: Cli) -> None:  # noqa: F811
    org = _evil_org(cli)
    code, out, _err = cli("show", "orgs", str(org), "--json")
    assert code == 0
    _clean(out)
    assert json.loads(out)["name"] == EVIL
    assert [r["name"] for r in cli.json("list", "orgs")["rows"]] == [EVIL]


def test_every_cli_output_goes_through_the_one_helper() -> None:
    """No command module prints or writes to stdout/stderr itself: a new command cannot
    forget the escaping."""
    package = Path(tui_crm.__file__).parent / "cli"
    allowed = {("output.py", "say"), ("output.py", "progress_line")}
    offenders = []
    paths = sorted(package.glob("*.py"))
    assert {"main.py", "output.py", "records.py", "transfer.py"} <= {p.name for p in paths}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if not isinstance(node, ast.Call):
                    continue
                target = ast.unparse(node.func)
                if (target == "print" or target.startswith(("sys.stdout.", "sys.stderr."))
                        and target.endswith((".write", ".writelines"))):
                    if (path.name, func.name) not in allowed:
                        offenders.append(f"{path.name}:{node.lineno} {target}")
    assert offenders == []
