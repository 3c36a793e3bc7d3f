"""The command line, run in-process through `main()` and as a real `python -m tui_crm`.

Every command, `--json` shapes, FIELD=VALUE forms, and bad input: one line on stderr,
a non-zero exit code, and a database exactly as it was before.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tui_crm
from tui_crm.cli.main import main
from tui_crm.db import open_database
from tui_crm.i18n import get_language, set_language
from tui_crm.services.core import identity, settings, users

INN = "7707083893"  # a valid 10-digit INN


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Private data and config folders, English, no TUI_CRM_DB from outside."""
    monkeypatch.setenv("TUI_CRM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUI_CRM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TUI_CRM_LANG", "en")
    monkeypatch.delenv("TUI_CRM_DB", raising=False)
    monkeypatch.delenv("TUI_CRM_DEBUG", raising=False)
    saved = get_language()
    yield tmp_path
    set_language(saved)


@pytest.fixture
def dbfile(env: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(env / "crm.sqlite3")
    assert main(["--db", path, "init"]) == 0
    capsys.readouterr()
    return path


class Cli:
    def __init__(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = main(["--db", self.db, *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str):  # noqa: ANN201 - whatever the command prints
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, err
        return out


@pytest.fixture
def cli(dbfile: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(dbfile, capsys)


@pytest.fixture
def org_id(cli: Cli) -> int:
    out = cli.ok("add", "organizations", "name=ООО «Ромашка»", "source=Website", f"inn={INN}",
                 "city=Москва", "phone=+7 (495) 123-45-67", "phone:mobile=8 916 123 45 67",
                 "email=info@romashka.ru", "tag=vip", "status=client", "category=VIP")
    return int(out.strip())


def snapshot(path: str) -> list[str]:
    """Every row of every table, for "nothing changed" checks."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tui-crm: ")
    assert "Traceback" not in err
    return lines[0]


# --- basics -----------------------------------------------------------------------------------


def test_version(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tui-crm {tui_crm.__version__}"


def test_argparse_speaks_russian(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's own words follow --lang: the help's headings and its usage errors."""
    assert main(["--lang", "ru", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("использование: tui-crm")
    assert "позиционные аргументы" in out and "показать эту справку и выйти" in out
    assert "positional arguments" not in out and "usage:" not in out
    assert main(["--lang", "ru", "show"]) == 2
    err = capsys.readouterr().err
    assert "не хватает аргументов: SECTION, ID" in err and "required" not in err
    assert main(["--lang", "ru", "--lang", "xx"]) == 2
    assert "недопустимое значение: 'xx'" in capsys.readouterr().err
    assert main(["--lang", "en", "show"]) == 2  # and back in English in the same process
    assert "the following arguments are required" in capsys.readouterr().err


def test_help_lists_the_commands(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("init", "demo", "add", "show", "list", "edit", "delete", "restore", "find",
                    "duplicates", "fields", "history", "user"):
        assert command in out
    # The capabilities' own commands too (the UI's start skips loading them, help does not).
    for command in ("plan", "import", "export", "report", "mail", "backup"):
        assert f"\n    {command} " in out


def test_init_registers_the_os_account_as_admin(env: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "new.sqlite3"
    assert main(["init", "--db", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["user"] == identity.os_login() and data["role"] == "admin"
    assert data["schema_version"] >= 1
    assert path.exists()
    assert main(["--db", str(path), "init"]) == 0  # again: nothing to do, still fine
    assert "is ready" in capsys.readouterr().out


def test_default_database_goes_to_the_data_folder(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = env / "fresh" / "data"
    monkeypatch.setenv("TUI_CRM_DATA_DIR", str(folder))
    assert main(["init"]) == 0
    assert (folder / "crm.sqlite3").exists()


def test_env_tui_crm_db_is_used(env: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "from-env.sqlite3"
    monkeypatch.setenv("TUI_CRM_DB", str(path))
    assert main(["init"]) == 0
    assert path.exists()


def test_global_options_before_or_after_the_command(cli: Cli, org_id: int) -> None:
    code = main(["--json", "--db", cli.db, "show", "org", str(org_id)])
    before = json.loads(cli.capsys.readouterr().out)
    code2 = main(["show", "org", str(org_id), "--json", "--db", cli.db])
    after = json.loads(cli.capsys.readouterr().out)
    assert code == code2 == 0
    assert before == after
    assert before["name"] == "ООО «Ромашка»"


# --- records ----------------------------------------------------------------------------------


def test_add_prints_the_id_and_stores_repeated_typed_points(cli: Cli, org_id: int) -> None:
    data = cli.json("show", "organizations", str(org_id))
    assert data["id"] == org_id and data["section"] == "organizations"
    assert data["inn"] == INN
    # An untyped phone= gets the first type; phone:mobile= says it; both are normalized.
    assert [(p["type"], p["value"], p["normalized"]) for p in data["phones"]] == [
        ("mobile", "+7 495 123-45-67", "+74951234567"),
        ("mobile", "+7 916 123-45-67", "+79161234567")]
    assert [p["value"] for p in data["emails"]] == ["info@romashka.ru"]
    assert data["tags"] == ["vip"]
    assert data["status"] == "client" and data["category"] == "vip"


def test_phone_with_a_type_and_several_of_each(cli: Cli) -> None:
    record = cli.json("add", "contacts", "last_name=Иванов", "first_name=Иван",
                      "phone:work=+7 495 111-22-33", "phone:mobile=89161112233",
                      "phone=+7 903 000-00-01", "email=ivan@example.com",
                      "email:personal=ivan@mail.ru", "messenger:telegram=@ivanov",
                      "tag=новый", "tag=опт,vip", "birthday=31.12.1980")
    phones = [(p["type"], p["value"]) for p in record["phones"]]
    assert phones == [("work", "+7 495 111-22-33"), ("mobile", "+7 916 111-22-33"),
                      ("mobile", "+7 903 000-00-01")]
    assert [(p["type"], p["value"]) for p in record["emails"]] == [
        ("work", "ivan@example.com"), ("personal", "ivan@mail.ru")]
    assert record["messengers"][0]["type"] == "telegram"
    assert sorted(record["tags"]) == sorted(["новый", "опт", "vip"])
    assert record["birthday"] == "1980-12-31"
    assert record["primary_phone"] == "+7 495 111-22-33"
    card = cli.ok("show", "contact", str(record["id"]))
    assert "+7 495 111-22-33 (work)" in card
    assert "Birthday:" in card and "1980-12-31" in card


def test_show_card_uses_field_labels(cli: Cli, org_id: int) -> None:
    out = cli.ok("show", "org", str(org_id))
    assert "Name:" in out and "ООО «Ромашка»" in out
    assert "Tax id (INN):" in out
    assert "+7 495 123-45-67 (mobile)" in out
    actor = users.actor_for(identity.os_login())
    open_database(cli.db)
    settings.rename_field(actor, "organizations", "inn", "ИНН клиента")
    assert "ИНН клиента:" in cli.ok("show", "org", str(org_id))


def test_an_empty_list_says_so_in_words(cli: Cli) -> None:
    code, out, err = cli("list", "organizations")
    assert (code, out, err.strip()) == (0, "", "Organizations: no records yet.")
    assert cli("list", "organizations", "--query", "zz")[2].strip() == "No records match."
    assert cli("list", "contacts", "--trash")[2].strip() == "The trash is empty."


def test_list_text_json_filters_sort_and_paging(cli: Cli, org_id: int) -> None:
    for name, status in (("Альфа", "lead"), ("Бета", "client"), ("Гамма", "client")):
        cli.ok("add", "orgs", f"name={name}", f"status={status}", "source=Website")
    out = cli.ok("list", "organizations")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "Name", "City"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + 4
    data = cli.json("list", "organizations", "--filter", "status=client", "--sort", "name",
                    "--desc")
    assert data["total"] == 3
    assert [r["name"] for r in data["rows"]] == ["ООО «Ромашка»", "Гамма", "Бета"]
    data = cli.json("list", "orgs", "--sort", "name", "--limit", "2", "--offset", "1")
    assert data["total"] == 4 and data["offset"] == 1 and len(data["rows"]) == 2
    assert [r["name"] for r in data["rows"]] == ["Бета", "Гамма"]
    data = cli.json("list", "orgs", "--query", "ромаш")
    assert [r["id"] for r in data["rows"]] == [org_id]
    data = cli.json("list", "orgs", "--filter", "status=lead", "--filter", "status=client")
    assert data["total"] == 4
    data = cli.json("list", "orgs", "--filter", "tag=vip")
    assert [r["id"] for r in data["rows"]] == [org_id]
    code, out, err = cli("list", "orgs", "--limit", "1")
    assert code == 0 and "1–1 of 4" in err


def test_edit_with_version_and_conflict(cli: Cli, org_id: int) -> None:
    out = cli.ok("edit", "org", str(org_id), "city=Казань", "--version", "1")
    assert "version 2" in out
    before = snapshot(cli.db)
    code, out, err = cli("edit", "org", str(org_id), "city=Пермь", "--version", "1")
    assert code == 4
    assert "nothing was saved" in one_line_error(err)
    assert snapshot(cli.db) == before
    assert cli.json("show", "org", str(org_id))["city"] == "Казань"
    assert "Nothing to change" in cli.ok("edit", "org", str(org_id), "city=Казань")
    edited = cli.json("edit", "org", str(org_id), "phone=+7 812 000-11-22")
    assert [p["value"] for p in edited["phones"]] == ["+7 812 000-11-22"]  # replaces the list


def test_delete_restore_and_trash(cli: Cli, org_id: int) -> None:
    assert "trash" in cli.ok("delete", "org", str(org_id))
    assert cli.json("list", "orgs")["total"] == 0
    assert [r["id"] for r in cli.json("list", "orgs", "--trash")["rows"]] == [org_id]
    assert cli.json("show", "org", str(org_id))["deleted"] is True
    assert cli.json("find", "ромашка") == []
    restored = cli.json("restore", "org", str(org_id))
    assert restored["deleted"] is False
    assert cli.json("list", "orgs")["total"] == 1
    cli.ok("delete", "org", str(org_id))
    assert "Restored organization" in cli.ok("restore", "organizations", f"#{org_id}")
    actions = [e["action"] for e in cli.json("history", "org", str(org_id))]
    assert actions[:4] == ["restore", "delete", "restore", "delete"]


def test_find_ranked_hits_as_json_and_text(cli: Cli, org_id: int) -> None:
    cli.ok("add", "contacts", "last_name=Иванов", "first_name=Иван", "organization=ООО «Ромашка»")
    cli.ok("add", "contacts", "last_name=Петров", "first_name=Иван")
    hits = cli.json("find", "иван")
    assert len(hits) == 2
    assert all(set(h) >= {"section", "id", "title", "score"} for h in hits)
    assert hits[0]["title"] == "Иванов Иван"  # the closer title ranks first
    for phone in ("9161234567", "8 (916) 123-45-67", "+7 916 123 45 67"):
        assert [(h["section"], h["id"]) for h in cli.json("find", phone)] == [
            ("organizations", org_id)]
    only_orgs = cli.json("find", "ромашка", "--section", "org")
    assert {h["section"] for h in only_orgs} == {"organizations"}
    assert cli.json("find", "иван", "--limit", "1") == hits[:1]
    out = cli.ok("find", "иван")
    assert out.splitlines()[0].split() == ["Section", "ID", "Title"]
    assert "Иванов Иван" in out
    code, out, err = cli("find", 'C++ "AND" -(')
    assert code == 0 and out == "" and "Nothing found" in err


def test_duplicates(cli: Cli, org_id: int) -> None:
    found = cli.json("duplicates", "organizations", "name=Ромашка", "phone=8 495 123 45 67")
    assert found[0]["id"] == org_id
    assert set(found[0]) >= {"section", "id", "title", "owner", "reasons"}
    assert "phone" in found[0]["reasons"]
    assert cli.json("duplicates", "orgs", f"inn={INN}")[0]["id"] == org_id
    assert cli.json("duplicates", "orgs", "name=Совсем другое") == []
    out = cli.ok("duplicates", "orgs", "email=INFO@romashka.ru")
    assert "ООО «Ромашка»" in out
    code, _out, err = cli("duplicates", "tasks", "title=x")
    assert code == 2 and "organizations and contacts" in one_line_error(err)


def test_fields_built_in_and_custom(cli: Cli) -> None:
    open_database(cli.db)
    settings.add_custom_field(users.actor_for(identity.os_login()), "organizations",
                              "Contract date", "date")
    fields = cli.json("fields", "organizations")
    by_name = {f["name"]: f for f in fields}
    assert by_name["name"]["required"] is True
    assert by_name["status"]["choices"] == ["lead", "warm", "client", "lost"]
    assert by_name["primary_phone"]["editable"] is False
    assert by_name["contract_date"] == {"name": "contract_date", "type": "date",
                                        "label": "Contract date", "required": False,
                                        "editable": True, "custom": True, "choices": []}
    out = cli.ok("fields", "orgs")
    assert "contract_date" in out and "custom" in out and "repeatable as phone=" in out
    record = cli.json("add", "orgs", "name=X", "source=Website", "contract_date=01.02.2026")
    assert record["contract_date"] == "2026-02-01"


def test_history_shows_who_changed_what(cli: Cli, org_id: int) -> None:
    cli.ok("edit", "org", str(org_id), "city=Казань")
    entries = cli.json("history", "org", str(org_id))
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["field"] == "city"
    assert (entries[0]["old"], entries[0]["new"]) == ("Москва", "Казань")
    assert entries[0]["login"] == identity.os_login()
    out = cli.ok("history", "org", str(org_id))
    assert "Москва → Казань" in out and "changed" in out


def test_section_aliases_and_renamed_sections(cli: Cli, org_id: int) -> None:
    for name in ("org", "orgs", "organization", "clients", "клиенты", "Организации"):
        assert cli.json("show", name, str(org_id))["id"] == org_id
    open_database(cli.db)
    settings.configure_section(users.actor_for(identity.os_login()), "organizations",
                               name="Компании")
    assert cli.json("show", "компании", str(org_id))["id"] == org_id


def test_users_add_list_set_disable(cli: Cli) -> None:
    added = cli.json("user", "add", "anna", "--role", "manager", "--name", "Анна Петрова",
                     "--email", "anna@example.com")
    assert added["login"] == "anna" and added["role"] == "manager"
    logins = {u["login"]: u for u in cli.json("user", "list")}
    assert set(logins) == {identity.os_login(), "anna"}
    changed = cli.json("user", "set", "anna", "role=head", "visibility=all")
    assert (changed["role"], changed["visibility"]) == ("head", "all")
    assert "Анна Петрова" in cli.ok("user", "list")
    assert cli.json("user", "disable", "anna")["active"] is False
    code, _out, err = cli("user", "set", "anna", "colour=blue")
    assert code == 2 and "colour" in one_line_error(err)
    code, _out, err = cli("user", "add", "anna")
    assert code == 2 and "already exists" in one_line_error(err)
    code, _out, err = cli("user")
    assert code == 2 and "add, list, set or disable" in one_line_error(err)


def test_acting_as_another_user_obeys_their_rights(cli: Cli, org_id: int) -> None:
    cli.ok("user", "add", "boris", "--role", "manager")
    mine = int(cli.ok("--user", "boris", "add", "orgs", "name=Своя", "source=Website"))
    assert [r["id"] for r in cli.json("--user", "boris", "list", "orgs")["rows"]] == [mine]
    code, _out, err = cli("--user", "boris", "show", "org", str(org_id))
    assert code == 5 and "another manager" in one_line_error(err)
    code, _out, err = cli("--user", "nobody", "list", "orgs")
    assert code == 3 and "nobody" in one_line_error(err)


def test_demo_command_and_the_demo_database(cli: Cli, env: Path) -> None:
    data = cli.json("demo", "--orgs", "40", "--contacts", "60", "--events", "100", "--seed",
                    "5")
    assert data["counts"]["organizations"] == 40 and data["counts"]["events"] == 100
    assert cli.json("list", "orgs", "--limit", "1")["total"] == 40
    out = cli.ok("demo", "--orgs", "5", "--events", "10")
    assert "Organizations" in out and "Generated in" in out
    # --demo with a command works on the demo database in the data folder.
    code = main(["--demo", "list", "contacts", "--json", "--limit", "1"])
    listed = json.loads(cli.capsys.readouterr().out)
    assert code == 0 and listed["total"] == 600
    assert (env / "data" / "demo.sqlite3").exists()


def test_russian_messages(cli: Cli, org_id: int) -> None:
    out = cli.ok("--lang", "ru", "show", "org", str(org_id))
    assert "Название:" in out
    code, _out, err = cli("--lang", "ru", "show", "org", "999")
    assert code == 3 and "999" in one_line_error(err)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["add", "orgs", "name=X", "source=Website", "colour=red"], 2, "colour: Unknown field"),
    (["add", "contacts", "last_name=X", "birthday=32.13.2020"], 2, "birthday"),
    (["add", "contacts", "last_name=X", "email=not-an-email"], 2, "Invalid e-mail"),
    (["add", "orgs", "name=X", "source=Website", "inn=1234567890"], 2, "INN"),
    (["add", "orgs", "source=Website"], 2, "name: Required"),
    (["add", "orgs", "name=X"], 2, "source"),
    (["add", "orgs", "name"], 2, "FIELD=VALUE"),
    (["add", "tasks", "title=X", "phone=1"], 2, "phones"),
    (["add", "orgs", "name=X", "name=Y", "source=Website"], 2, "more than once"),
    (["add", "planets", "name=X"], 3, "Unknown section 'planets'"),
    (["show", "orgs", "4242"], 3, "#4242 does not exist"),
    (["show", "orgs", "abc"], 2, "not a record id"),
    (["show", "orgs", "9223372036854775808"], 2, "not a record id"),
    (["mail", "template", "preview", "9223372036854775808", "--to", "1"], 3, "No template"),
    (["edit", "orgs", "4242", "city=Казань"], 3, "#4242 does not exist"),
    (["edit", "orgs", "1", "founded=вчера"], 2, "founded"),
    (["edit", "orgs", "1", "next_contact_at=завтра"], 2, "filled in automatically"),
    (["edit", "orgs", "1", "status=sleeping"], 2, "status"),
    (["delete", "orgs", "4242"], 3, "does not exist"),
    (["restore", "orgs", "4242"], 3, "does not exist"),
    (["history", "orgs", "4242"], 3, "does not exist"),
    (["list", "orgs", "--sort", "colour"], 2, "colour"),
    (["list", "orgs", "--filter", "colour=red"], 2, "colour"),
    (["list", "orgs", "--limit", "-1"], 2, "negative"),
    (["fields", "planets"], 3, "planets"),
    (["frobnicate"], 2, "invalid choice"),
    (["show"], 2, "required"),
])
def test_bad_input_one_line_and_nothing_changed(cli: Cli, org_id: int, args: list[str],
                                                code: int, needle: str) -> None:
    before = snapshot(cli.db)
    got, out, err = cli(*args)
    assert got == code, err
    assert needle in one_line_error(err)
    assert out == ""
    assert snapshot(cli.db) == before


def test_bad_date_on_edit_changes_nothing(cli: Cli, org_id: int) -> None:
    contact = cli.json("add", "contacts", "last_name=Сидоров", "birthday=01.02.1990")
    before = snapshot(cli.db)
    code, _out, err = cli("edit", "contact", str(contact["id"]), "birthday=31.02.1990",
                          "first_name=Пётр")
    assert code == 2 and "birthday" in one_line_error(err)
    assert snapshot(cli.db) == before


def test_unparsable_phone_is_kept_and_flagged(cli: Cli) -> None:
    code, out, err = cli("add", "contacts", "last_name=Кто-то", "phone=доб. 123, спросить Олю")
    assert code == 0
    assert "not a valid phone number" in one_line_error(err)
    record = cli.json("show", "contacts", out.strip())
    assert record["phones"] == [{"type": "mobile", "value": "доб. 123, спросить Олю",
                                 "normalized": "123", "valid": False}]
    assert "not a valid number" in cli.ok("show", "contacts", out.strip())


def test_missing_folder_creates_nothing(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = env / "no" / "such" / "folder" / "crm.sqlite3"
    assert main(["--db", str(target), "list", "orgs"]) == 6
    err = capsys.readouterr().err
    assert "does not exist" in one_line_error(err)
    assert not target.parent.exists()


def test_newer_schema_is_refused_and_left_alone(cli: Cli) -> None:
    conn = sqlite3.connect(cli.db)
    conn.execute("INSERT INTO schema_version (version) VALUES (999)")
    conn.commit()
    conn.close()
    before = snapshot(cli.db)
    code, _out, err = cli("add", "orgs", "name=X", "source=Website")
    assert code == 6
    line = one_line_error(err)
    assert "999" in line and "newer" in line
    assert snapshot(cli.db) == before


def test_a_file_that_is_not_a_database(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "notes.txt"
    path.write_bytes(b"just some text, certainly not SQLite\n" * 200)
    assert main(["--db", str(path), "list", "orgs"]) == 6
    assert "not a tui-crm database" in one_line_error(capsys.readouterr().err)
    assert path.read_bytes().startswith(b"just some text")


def test_a_folder_as_database(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(env), "list", "orgs"]) == 6
    assert "folder" in one_line_error(capsys.readouterr().err)


# --- real processes ---------------------------------------------------------------------------


def _run(env: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TUI_CRM_DATA_DIR": str(env / "data"),
                   "TUI_CRM_CONFIG_DIR": str(env / "config"), "TUI_CRM_LANG": "en"}
    environment.pop("TUI_CRM_DB", None)
    environment.pop("TUI_CRM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tui_crm", *args], capture_output=True,
                          text=True, env=environment, timeout=120)


def test_process_exit_codes_and_no_traceback(dbfile: str, env: Path) -> None:
    done = _run(env, "--db", dbfile, "demo", "--orgs", "30", "--events", "60")
    assert done.returncode == 0, done.stderr
    found = _run(env, "--db", dbfile, "find", "иван", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits and all({"section", "id", "title"} <= set(h) for h in hits)
    before = snapshot(dbfile)
    bad = _run(env, "--db", dbfile, "add", "contacts", "last_name=X", "email=@@")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "Invalid e-mail" in one_line_error(bad.stderr)
    assert snapshot(dbfile) == before


def test_process_usage_and_database_errors(env: Path) -> None:
    usage = _run(env, "list")
    assert usage.returncode == 2
    assert "required" in one_line_error(usage.stderr)
    missing = _run(env, "--db", str(env / "nowhere" / "x.sqlite3"), "init")
    assert missing.returncode == 6
    assert "does not exist" in one_line_error(missing.stderr)
    version = _run(env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("tui-crm ")


def test_the_app_opens_a_section_and_signals_its_first_page(dbfile: str, env: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """The start-up measurement's mode: the app quits by itself, headless, once the first
    page of the section is on screen (it quits nowhere else, so a clean exit is that)."""
    assert _run(env, "--db", dbfile, "demo", "--orgs", "30", "--events", "60").returncode == 0
    monkeypatch.setenv("TUI_CRM_EXIT_WHEN_READY", "1")
    started = _run(env, "--db", dbfile, "--section", "contacts")
    assert started.returncode == 0, started.stderr
    assert "Traceback" not in started.stderr


def test_the_collector_is_paused_for_the_start_only(dbfile: str, env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up runs without the cyclic collector; once the first page is on screen the
    start-up's objects are frozen out of its sight and collecting resumes."""
    import gc

    from tui_crm.ui.app import run_app

    assert main(["--db", dbfile, "demo", "--orgs", "30", "--events", "60"]) == 0
    monkeypatch.setenv("TUI_CRM_EXIT_WHEN_READY", "1")
    frozen = gc.get_freeze_count()
    try:
        assert run_app(dbfile, section="organizations") == 0
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen  # the first page's hook ran
    finally:
        gc.unfreeze()


def test_an_unknown_section_to_open_is_one_line(env: Path, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    path = env / "never.sqlite3"
    assert main(["--db", str(path), "--section", "nosuch"]) == 3  # not found
    err = one_line_error(capsys.readouterr().err)
    assert "nosuch" in err and "organizations" in err
    assert not path.exists()  # nothing was opened or created
