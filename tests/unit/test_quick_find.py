"""`tui-crm find` on a SQLite file without the database layer: the same hits as the
services' quick search, and the full path whenever it cannot answer the same way."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tui_crm.cli.main import main
from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.i18n import get_language, set_language
from tui_crm.services.core import records, settings, users
from tui_crm.services.core.identity import os_login
from tui_crm.services.ops import demo
from tui_crm.services.search import quick_find, search

QUERIES = ["иван", "Иванов Иван", "ромашка", "ООО", "8 916", "9161234567", "ив", "@mail",
           "«Ёлка»", "зззщщщ", "", "'; DROP TABLE x; --", "a" * 300]


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - (path, admin)
    monkeypatch.setenv("TUI_CRM_LANG", "en")
    saved = get_language()
    set_language("en")
    path = tmp_path / "crm.sqlite3"
    database = open_database(path)
    demo.generate(orgs=120, contacts=240, events=400, payments=50, today=dt.date(2026, 11, 27))
    admin = users.resolve_actor()
    records.create(admin, "organizations", {"name": "ООО «Ёлка»", "source": "Website",
                                            "phones": ["+7 916 123-45-67"]})
    yield str(path), admin
    database.close()
    database_proxy.initialize(None)
    set_language(saved)


def test_the_same_hits_as_the_services(base) -> None:  # noqa: ANN001
    path, admin = base
    for text in QUERIES:
        found = quick_find.find_in_file(path, os_login(), text, limit=30)
        assert found is not None, text
        assert found.hits == search.quick_search(admin, text, limit=30), text
    assert quick_find.find_in_file(path, os_login(), "ёлка").hits[0].title == "ООО «Ёлка»"


def test_renamed_sections_and_the_users_language(base, capsys) -> None:  # noqa: ANN001
    path, admin = base
    settings.configure_section(admin, "organizations", name="Клиенты-фирмы")
    found = quick_find.find_in_file(path, os_login(), "ёлка")
    assert found.section_name("organizations") == "Клиенты-фирмы"
    assert found.section_name("contacts") == "Contacts"
    assert main(["--db", path, "find", "ёлка"]) == 0
    assert "Клиенты-фирмы" in capsys.readouterr().out


@pytest.mark.parametrize("change", ["own visibility", "disabled", "unknown", "old schema",
                                    "missing file", "url"])
def test_the_full_path_answers_what_this_one_cannot(base, change: str) -> None:
    path, admin = base
    login = os_login()
    if change == "own visibility":
        users.add_user(admin, "anna", role="manager")
        login = "anna"
    elif change == "disabled":
        users.add_user(admin, "boris", role="admin")
        users.set_user(admin, "boris", {"active": "no"})
        login = "boris"
    elif change == "unknown":
        login = "nobody-here"
    elif change == "old schema":
        conn = sqlite3.connect(path)
        conn.execute("DELETE FROM schema_version WHERE version = (SELECT MAX(version)"
                     " FROM schema_version)")
        conn.commit()
        conn.close()
    elif change == "missing file":
        path = str(Path(path).with_name("nowhere.sqlite3"))
    else:
        path = "postgresql://localhost/crm"
    assert quick_find.find_in_file(path, login, "иван") is None


def test_a_find_of_its_own_never_loads_the_database_layer(base) -> None:  # noqa: ANN001
    path, _admin = base
    code = ("import sys; from tui_crm.cli.main import main; rc = main();"
            " print('peewee' in sys.modules, file=sys.stderr); sys.exit(rc)")
    env = {**os.environ, "TUI_CRM_LANG": "en"}
    done = subprocess.run([sys.executable, "-c", code, "--db", path, "find", "ёлка", "--json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["title"] == "ООО «Ёлка»"
    assert done.stderr.strip().splitlines()[-1] == "False"
