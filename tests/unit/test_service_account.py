"""The recommended server set-up: one service account runs tui-crm for each person.

- A forced SSH command with --ssh-command runs the client's command (SSH_ORIGINAL_COMMAND)
  as the key's pinned user; the command may not name another database or user.
- A session for a person through that account (`Actor.on_behalf`) names no files on the
  server (they would be read and written as the service account); `-o -` sends a file to
  the person's side instead.
- The start-up check reports a database folder that other accounts can enter.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tui_crm.cli import pinned as cli_pinned
from tui_crm.cli.main import main
from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.errors import PermissionDenied
from tui_crm.services.analytics import reports
from tui_crm.services.core import records, server_files, shared_files, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import accounts, templates
from tui_crm.services.ops import backup
from tui_crm.services.planning import planning
from tui_crm.services.transfer import documents, exporting, importing
from tui_crm.services.transfer.importing import ImportOptions

# --- files on the server ---------------------------------------------------------------------


def test_a_session_for_someone_else_names_no_files_on_the_server(db, actor: Actor,
                                                                 tmp_path: Path) -> None:
    users.add_user(actor, "anna", role="head")  # a head may export
    users.add_user(actor, "boss", role="admin")
    anna_here = users.actor_for("anna")
    anna = users.resolve_actor("anna")  # the service account acting for anna
    boss = users.resolve_actor("boss")
    assert anna.on_behalf and boss.on_behalf and not anna_here.on_behalf
    org = records.create(anna_here, "organizations", {"name": "Ромашка", "status": "client"})
    source = tmp_path / "clients.csv"
    source.write_text("Name\nЛютик\n", encoding="utf-8")
    outside = tmp_path / "outside.docx"
    documents.write_examples(tmp_path)  # a template outside the templates folder
    template = documents.list_templates()[0]  # one inside it
    today = dt.date.today()
    report = reports.build(anna, "activity", today, today)
    out = tmp_path / "out"
    out.mkdir()

    attempts: dict[str, tuple[Callable[[], object], Path]] = {
        "export": (lambda: exporting.export(anna, "organizations", out / "a.csv"),
                   out / "a.csv"),
        "report": (lambda: reports.export_xlsx(report, str(out / "r.xlsx"), anna),
                   out / "r.xlsx"),
        "plan": (lambda: planning.export_plan(anna, today, str(out / "p.xlsx")),
                 out / "p.xlsx"),
        "document": (lambda: documents.render(anna, template, "organizations", org.id,
                                              out / "d.docx"), out / "d.docx"),
        "template": (lambda: documents.render(anna, outside.with_name("contract.docx"),
                                              "organizations", org.id, out / "e.docx"),
                     out / "e.docx"),
        "import": (lambda: importing.import_file(anna, source, ImportOptions()), source),
        "backup": (lambda: backup.backup(boss, out / "b.sqlite3"), out / "b.sqlite3"),
        "restore": (lambda: backup.restore(boss, source), source),
        "attachment": (lambda: templates.add_template(boss, "t", subject="s", body="b",
                                                    attachments=[str(source)]), source),
    }
    for name, (attempt, path) in attempts.items():
        existed = path.exists()
        with pytest.raises(PermissionDenied) as err:
            attempt()
        assert "cannot read or write files there by name" in str(err.value), name
        assert path.exists() == existed, name
    assert records.total("organizations") == 1
    assert templates.list_templates(boss) == []
    # Nor a variable of the server account's environment (sent to an SMTP server anna names).
    with pytest.raises(PermissionDenied) as err:
        accounts.add_account(anna, "mine", host="smtp.example.ru", from_address="a@example.ru",
                            login="a", password_env="PGPASSWORD")
    assert "cannot use its environment variables ($PGPASSWORD)" in str(err.value)
    assert accounts.list_accounts(boss) == []

    # The program's own temporary folder is allowed (that is how -o - works), and the same
    # person working on their own account writes where they like.
    with server_files.scratch() as folder:
        assert exporting.export(anna, "organizations", folder / "a.csv").rows == 1
    assert not folder.exists()
    assert exporting.export(anna_here, "organizations", out / "a.csv").rows == 1


# --- the forced SSH command ------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database whose first user (this process's account) is the service account, with
    two managers who each own an organization."""
    path = str(tmp_path / "data" / "crm.sqlite3")
    database = open_database(path)
    service = users.resolve_actor()
    for login in ("anna", "boris"):
        users.add_user(service, login, role="manager")
        records.create(users.actor_for(login), "organizations",
                       {"name": f"Org of {login}", "status": "client"})
    users.set_user(service, "anna", {"can_export.organizations": "yes"})
    database.close()
    database_proxy.initialize(None)
    monkeypatch.delenv("SSH_ORIGINAL_COMMAND", raising=False)
    return path


def forced(db: str, command: str | None, capsys: pytest.CaptureFixture[str],
           monkeypatch: pytest.MonkeyPatch, user: str = "anna") -> tuple[int, str, str]:
    """anna's key: `command="tui-crm --db DB --user anna --ssh-command"`."""
    if command is not None:
        monkeypatch.setenv("SSH_ORIGINAL_COMMAND", command)
    code = main(["--db", db, "--user", user, "--ssh-command"])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_clients_command_runs_as_the_keys_user(served: str,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for command in ("list organizations --json", "tui-crm list organizations --json",
                    "/usr/local/bin/tui-crm --lang en list organizations --json"):
        code, out, err = forced(served, command, capsys, monkeypatch)
        assert code == 0, err
        assert [row["title"] for row in json.loads(out)["rows"]] == ["Org of anna"]
    code, out, err = forced(served, "find 'Org of' --json", capsys, monkeypatch)
    assert [hit["title"] for hit in json.loads(out)] == ["Org of anna"]


@pytest.mark.parametrize("command", [
    "--db /tmp/other.sqlite3 list organizations",
    "list organizations --db=/tmp/other.sqlite3",
    "--user boris list organizations",
    "list organizations --user=boris",
    "list organizations --us boris",  # argparse would take the abbreviation
    "--demo list organizations",
    "--ssh-command",
    "user set anna role=admin --user root",
])
def test_the_clients_command_cannot_choose_the_database_or_user(
        served: str, command: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = forced(served, command, capsys, monkeypatch)
    assert code == 5 and out == ""
    assert err.startswith("tui-crm: --") and "is fixed by the server for your key" in err
    assert len(err.strip().splitlines()) == 1


def test_forced_command_mistakes_are_one_line(served: str, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    code, _out, err = forced(served, 'list "organizations', capsys, monkeypatch)
    assert code == 2 and err.startswith("tui-crm: Cannot read the command")
    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", "list organizations")
    assert main(["--db", served, "--ssh-command"]) == 2  # a key without a pinned user
    assert "needs --user LOGIN" in capsys.readouterr().err
    # anna may not write files on the server, nor start a web server as its account.
    target = tmp_path / "mine.csv"
    code, _out, err = forced(served, f"export organizations -o {target}", capsys, monkeypatch)
    assert code == 5 and "cannot read or write files there by name" in err
    assert not target.exists()
    code, _out, err = forced(served, "serve --port 8765", capsys, monkeypatch)
    assert code == 5 and "cannot start the browser UI" in err
    code, _out, err = forced(served, "user set anna role=admin", capsys, monkeypatch)
    assert code == 5 and "Only an admin can manage users" in err


def test_without_a_command_the_key_opens_the_ui() -> None:
    pinned = ["--db", "/srv/crm/crm.sqlite3", "--user", "anna"]
    assert cli_pinned.expand([*pinned, "--ssh-command"], {}) == pinned
    assert cli_pinned.expand([*pinned, "--ssh-command"], {"SSH_ORIGINAL_COMMAND": "  "}) == \
        pinned
    assert cli_pinned.expand(pinned, {"SSH_ORIGINAL_COMMAND": "--user root"}) == pinned


def test_files_come_to_the_clients_side_on_stdout(served: str) -> None:
    """`ssh crm@server export organizations --format csv -o - > clients.csv`, in a real
    process: the file's bytes on stdout, the message on stderr, nothing left behind."""
    env = {k: v for k, v in os.environ.items() if k != "TUI_CRM_DB"}

    def run(command: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "tui_crm", "--db", served, "--user", "anna",
             "--ssh-command"], env={**env, "SSH_ORIGINAL_COMMAND": command},
            capture_output=True, timeout=120, check=False)

    done = run("export organizations --format csv -o -")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout.decode("utf-8-sig")), delimiter=","))
    assert [row[0] for row in rows[1:]] == ["Org of anna"]
    assert b"1 records written to stdout" in done.stderr
    done = run("report activity -o -")
    assert done.returncode == 5 and b"no right to export" in done.stderr  # a manager's right
    done = run("plan -o -")
    assert done.returncode == 0 and done.stdout.startswith(b"PK"), done.stderr  # .xlsx
    done = run("export organizations -o -")
    assert done.returncode == 2 and b"say the format" in done.stderr and done.stdout == b""


# --- the folder's modes ----------------------------------------------------------------------


def test_a_service_accounts_folder_must_be_closed_to_others(tmp_path: Path) -> None:
    folder = tmp_path / "srv"
    folder.mkdir()
    db = folder / "crm.sqlite3"
    db.write_bytes(b"")
    os.chmod(folder, 0o755)  # what mkdir gives with the usual umask
    found = shared_files.problems(db, service_account=True)
    assert found == [f"Every account on this machine can enter {folder} and open the database"
                     f" around tui-crm's rights; fix: chmod 700 {folder}"]
    assert shared_files.problems(db) == []  # a person's own folder: their business
    os.chmod(folder, 0o700)
    assert shared_files.problems(db, service_account=True) == []
    # The trusted team's setgid folder is meant for its group; its own checks apply.
    os.chmod(folder, 0o2770)
    os.chmod(db, 0o644)
    assert shared_files.problems(db, service_account=True) == [
        f"{db} is not writable by the group; fix: chmod 660 {db}"]
