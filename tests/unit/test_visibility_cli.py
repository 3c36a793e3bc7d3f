"""The attacker's session, replayed through the command line: a manager with "own"
visibility (anna, acted as by the admin's `--user`) lists, finds, shows, edits, deletes and
attaches to what belongs to boris. Every attempt gets one line and changes nothing; no
output names boris's client."""

from __future__ import annotations

import json

import pytest

from tests.unit.team_base import Team, build, word
from tui_crm.cli.main import main
from tui_crm.services.core import records
from tui_crm.services.core.rights import Actor


@pytest.fixture
def team(db, actor: Actor) -> Team:
    return build(actor)


@pytest.fixture
def as_anna(db_target: str, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_target, "--user", "anna", *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def secret(team: Team) -> str:
    return team.names[("boris", "organizations")]


def test_lists_and_find_show_only_ones_own(team: Team, as_anna) -> None:  # noqa: ANN001
    for section in ("notes", "payments", "services", "links", "tasks", "events", "deals",
                    "contacts", "organizations"):
        code, out, err = as_anna("list", section, "--json")
        assert code == 0, err
        rows = json.loads(out)["rows"]
        assert rows and all("qanna" in json.dumps(r, ensure_ascii=False) for r in rows), section
        assert secret(team) not in out and "qboris" not in out, section
        code, out, err = as_anna("list", section)
        assert secret(team) not in out + err and "qboris" not in out + err, section
    for text in (word("boris", "notes"), word("boris", "free notes"), "qboris", "Ромашка"):
        code, out, err = as_anna("find", text)
        assert code == 0
        assert secret(team) not in out and "qboris" not in out, text
    code, out, _err = as_anna("find", "Ромашка", "--json")
    hers = {(k.removeprefix("free "), v) for (o, k), v in team.ids.items() if o == "anna"}
    found = {(h["section"], h["id"]) for h in json.loads(out)}
    assert ("organizations", team.id("anna", "organizations")) in found
    assert found <= hers


@pytest.mark.parametrize("kind", ["notes", "payments", "services", "links", "free notes"])
def test_show_edit_delete_history_of_anothers_record_are_refused(
        team: Team, as_anna, row_counts, kind: str) -> None:  # noqa: ANN001
    section = kind.removeprefix("free ")
    record_id = str(team.id("boris", kind))
    before = row_counts()
    field = {"notes": "body=взлом", "payments": "amount=1000000", "services": "units=999",
             "links": "url=https://evil.example.com"}[section]
    for args in (("show", section, record_id), ("edit", section, record_id, field),
                 ("delete", section, record_id), ("history", section, record_id),
                 ("restore", section, record_id)):
        code, out, err = as_anna(*args)
        assert code != 0, args
        assert out == ""
        assert err.strip().count("\n") == 0, err
        assert "This record belongs to another manager." in err, err
        assert secret(team) not in err and "qboris" not in err
    assert row_counts() == before
    assert records.get(team.actors["boris"], section, int(record_id)).version == 1


def test_attaching_to_anothers_client_reveals_nothing(team: Team, as_anna,  # noqa: ANN001
                                                      row_counts) -> None:
    boris_org = team.id("boris", "organizations")
    before = row_counts()
    code, out, err = as_anna("add", "notes", "title=Шпион", f"organization={boris_org}")
    assert (code, out) != (0, "")
    code_missing, _out, err_missing = as_anna("add", "notes", "title=Шпион",
                                              "organization=987654")
    assert code == code_missing != 0
    assert err == err_missing.replace("987654", str(boris_org))
    code, out, err = as_anna("add", "payments", "date=2026-03-01", "amount=1000000",
                             f"organization={secret(team)}")
    assert code != 0 and secret(team) in err  # only what she typed herself…
    assert "No organization called" in err  # …told as if there were none
    code, out, err = as_anna("add", "contacts", "last_name=Крот", f"organization={boris_org}")
    assert code != 0
    assert row_counts() == before
    # Her own client takes the note, and `show` names it.
    code, out, err = as_anna("add", "notes", "title=Своя",
                             f"organization={team.id('anna', 'organizations')}")
    assert code == 0, err
    code, out, err = as_anna("show", "notes", out.strip())
    assert team.names[("anna", "organizations")] in out


def test_a_duplicate_hint_names_the_owner_only(team: Team, as_anna) -> None:  # noqa: ANN001
    boris_org = team.id("boris", "organizations")
    phone = records.get(team.actors["boris"], "organizations", boris_org).points[0].value
    code, out, err = as_anna("duplicates", "organizations", f"phone={phone}")
    assert code == 0, err
    assert "Борис Котов" in out
    assert secret(team) not in out and f" {boris_org} " not in out
    code, out, err = as_anna("add", "organizations", "name=Копия", "source=Website",
                             f"phone={phone}")
    assert code == 0
    assert "Борис Котов" in err and secret(team) not in err
