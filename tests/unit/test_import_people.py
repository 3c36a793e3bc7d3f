"""Duplicates are people, not names: the one duplicate rule (services/duplicates/rule.py)
through the importer, the form's look-up and the base scan; every row's outcome and every
column's fate named in the result, the CLI text and --json, a dry run the same."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_importing import run_cli, write_csv
from tui_crm.services.analytics.reports import client_base
from tui_crm.services.core import records
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import duplicates, merging, rule
from tui_crm.services.planning import planning
from tui_crm.services.transfer import importing
from tui_crm.services.transfer.importing import ImportOptions
from tui_crm.text.dates import NO_YEAR

HEADER = ["ФИО", "Компания", "Телефон", "E-mail", "Дата рождения", "Откуда узнали"]


def base_contact(actor: Actor, **values: object) -> int:
    data = {"last_name": "Иванов", "first_name": "Иван", **values}
    return records.create(actor, "contacts", data).id


def run(actor: Actor, path: Path, **options: object) -> importing.ImportResult:
    return importing.import_file(actor, path, ImportOptions(kind="contacts", **options))


def test_namesakes_are_created_and_named_as_possible_duplicates(tmp_path: Path, db,
                                                                actor: Actor) -> None:
    org = records.create(actor, "organizations", {"name": "Ромашка", "source": "Website"}).id
    first = base_contact(actor, organization=org, phones="+7 916 111-22-33")
    path = write_csv(tmp_path / "people.csv", [
        HEADER,
        ["Иванов Иван", "Лютик", "+7 916 999-88-77", "", "", ""],  # a namesake elsewhere
        ["Иванов Иван", "Ромашка", "", "", "", ""],  # the same man: name and company
        ["Петров Пётр", "", "8 916 111 22 33", "", "", ""],  # the same phone as #1
        ["Иванов Иван", "", "", "", "", ""],  # the name alone: possible
    ])
    result = run(actor, path)
    assert (result.created, result.skipped) == (2, 2)
    outcomes = {o.row: o for o in result.outcomes}
    assert outcomes[2].outcome == "created"
    assert outcomes[2].reason == f"possible duplicate of #{first} Иванов Иван (same name only)"
    assert outcomes[3].outcome == "skipped" and outcomes[3].record_id == first
    assert outcomes[3].reason == f"same name and company as #{first} Иванов Иван"
    assert outcomes[4].reason == f"same phone as #{first} Иванов Иван"
    assert outcomes[5].outcome == "created" and "possible duplicate" in outcomes[5].reason
    assert records.total("contacts") == 3
    assert {o.record_id for o in result.outcomes if o.outcome == "created"} \
        == set(result.created_ids)


def test_skip_name_matches_and_merge_possible(tmp_path: Path, db, actor: Actor) -> None:
    first = base_contact(actor)
    path = write_csv(tmp_path / "p.csv", [HEADER, ["Иванов Иван", "", "", "a@b.ru", "", ""]])
    skipped = run(actor, path, on_possible="skip")
    assert (skipped.created, skipped.skipped) == (0, 1)
    assert skipped.outcomes[0].reason == \
        f"possibly the same as #{first} Иванов Иван (same name only)"
    merged = run(actor, path, on_possible="merge")
    assert merged.merged == 1 and merged.outcomes[0].record_id == first
    assert records.get(actor, "contacts", first).points_of("email")[0].value == "a@b.ru"


def test_birthdays_tell_namesakes_apart(tmp_path: Path, db, actor: Actor) -> None:
    same = base_contact(actor, birthday="1985-03-08")
    path = write_csv(tmp_path / "b.csv", [
        HEADER,
        ["Иванов Иван", "", "", "", "08.03.1985", ""],  # name and birthday: the same man
        ["Иванов Иван", "", "", "", "09.03.1985", ""],  # another day: another man
        ["Иванов Иван", "", "", "", "08.03", ""],  # a year-less birthday agrees by the day
    ])
    result = run(actor, path)
    outcomes = {o.row: o for o in result.outcomes}
    assert outcomes[2].outcome == "skipped" and "name and birthday" in outcomes[2].reason
    assert (outcomes[3].outcome, outcomes[3].reason) == ("created", "")
    assert outcomes[4].outcome == "skipped" and outcomes[4].record_id == same


def test_namesakes_inside_one_file_all_arrive(tmp_path: Path, db, actor: Actor) -> None:
    rows = [HEADER] + [["Смирнов Алексей", f"Фирма {n}", f"+7 916 000-00-{n:02d}", "", "", ""]
                       for n in range(10)]
    result = run(actor, write_csv(tmp_path / "n.csv", rows))
    assert result.created == 10 and records.total("contacts") == 10
    again = run(actor, write_csv(tmp_path / "n.csv", rows))
    assert again.created == 0 and again.skipped == 10  # each one matches itself by phone


def test_cli_names_columns_and_rows_and_dry_run_says_the_same(tmp_path: Path, db,
                                                            actor: Actor, capsys) -> None:
    base_contact(actor)
    path = write_csv(tmp_path / "c.csv", [
        HEADER, ["Иванов Иван", "", "", "", "", "реклама"], ["", "", "", "", "", ""],
        ["Сидоров", "", "", "x@y.ru", "", ""], ["", "Без имени", "", "", "", ""]])
    code, out = run_cli(["import", str(path), "--into", "contacts", "--dry-run", "--json"],
                        actor, capsys)
    dry = json.loads(out)
    assert dry["mapping"] == {"ФИО": "full_name", "Компания": "organization",
                              "Телефон": "phones", "E-mail": "emails",
                              "Дата рождения": "birthday"}
    assert dry["ignored_columns"] == ["Откуда узнали"]
    assert [(r["row"], r["outcome"]) for r in dry["rows"]] == [
        (2, "created"), (4, "created"), (5, "error")]
    assert "possible duplicate of #1" in dry["rows"][0]["reason"]
    assert "No name" in dry["rows"][2]["reason"]
    code, out = run_cli(["import", str(path), "--into", "contacts", "--json"], actor, capsys)
    real = json.loads(out)
    assert [(r["row"], r["outcome"], r["reason"]) for r in real["rows"]] == \
        [(r["row"], r["outcome"], r["reason"]) for r in dry["rows"]]
    code, out = run_cli(["import", str(path), "--into", "contacts", "--dry-run",
                         "--skip-name-matches"], actor, capsys)
    assert "Ignored columns: Откуда узнали" in out
    assert "  ФИО → full_name" in out
    assert "row 2: skipped: possibly the same as #1 Иванов Иван (same name only)" in out
    assert "row 4: skipped: same e-mail as #3 Сидоров" in out  # imported just before
    assert "row 5: error: No name" in out


def test_two_companies_of_one_trade_name_both_arrive(tmp_path: Path, db,
                                                    actor: Actor) -> None:
    path = write_csv(tmp_path / "orgs.csv", [
        ["Наименование", "Юридическое наименование", "Город"],
        ["Blue Software", "ООО «Blue Software»", "Москва"],
        ["Blue Software", "Blue Software Corp.", "Москва"],  # another legal entity
        ["Blue Software", "", "Москва"]])  # nothing tells it apart: the same client
    result = importing.import_file(actor, path, ImportOptions(kind="organizations"))
    assert [(o.row, o.outcome) for o in result.outcomes] == [
        (2, "created"), (3, "created"), (4, "skipped")]
    assert result.outcomes[1].reason == "possible duplicate of row 2 (same name only)"
    assert result.outcomes[2].reason == "same name as row 2"


def test_the_form_warning_follows_the_same_rule(db, actor: Actor) -> None:
    org = records.create(actor, "organizations", {"name": "Ромашка", "source": "Website"}).id
    first = base_contact(actor, organization=org, birthday="1985-03-08")
    found = duplicates.find(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван",
                                                "organization": org})
    assert [(d.id, d.reasons) for d in found] == [(first, ["name and company"])]
    found = duplicates.find(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван"})
    assert [(d.id, d.reasons) for d in found] == [(first, ["name"])]
    assert duplicates.find(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван",
                                               "birthday": "09.03.1985"}) == []
    second = base_contact(actor, birthday="09.03.1985")
    pairs = {(p.keep_id, p.other_id): p for p in merging.scan(actor, "contacts")}
    assert (first, second) not in pairs  # namesakes born on different days


keys = st.builds(
    rule.Keys,
    phones=st.lists(st.sampled_from(["+7916", "+7495"]), max_size=1).map(tuple),
    emails=st.lists(st.sampled_from(["a@b", "c@d"]), max_size=1).map(tuple),
    inn=st.sampled_from(["", "7707083893", "7702070139"]),
    name=st.sampled_from(["", "иванов иван", "иванов иван иванович", "петров"]),
    company=st.sampled_from(["", "1", "2"]),
    birthday=st.sampled_from(["", "1985-03-08", f"{NO_YEAR}-03-08", "1990-01-01"]),
    city=st.sampled_from(["", "москва", "тверь"]),
    legal=st.sampled_from(["", "blue software", "blue software corp"]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["organizations", "contacts"]), keys, keys, st.booleans())
def test_the_rule_is_symmetric_and_an_index_agrees_with_it(kind: str, a: rule.Keys,
                                                           b: rule.Keys, fuzzy: bool) -> None:
    one, other = rule.verdict(kind, a, b, fuzzy=fuzzy), rule.verdict(kind, b, a, fuzzy=fuzzy)
    assert one == other
    if kind == "contacts" and one is not None and one.sure:
        # Sure of a person only on a phone, an e-mail, or the name with the company or
        # the birthday.
        assert set(a.phones) & set(b.phones) or set(a.emails) & set(b.emails) or (
            a.name == b.name and (a.company == b.company != "" or a.birthday and b.birthday))
    index = rule.Index(kind, fuzzy=fuzzy)
    index.add("b", b)
    found = index.find(a)
    if one is not None and one.sure:
        assert found is not None and found[1].sure
    if found is not None:
        assert one is not None and found[1].sure == one.sure


def test_a_birthday_without_a_year_is_no_age_and_comes_every_year(db, actor: Actor) -> None:
    contact = base_contact(actor, birthday="08.03")  # typed in the form: day and month
    view = records.get(actor, "contacts", contact)
    assert view.values["birthday"] == dt.date(NO_YEAR, 3, 8)
    assert view.display["birthday"] == "--03-08"
    for year in (2026, 2027):
        [item] = planning.birthdays_on(actor, dt.date(year, 3, 8))
        assert (item.contact_id, item.age) == (contact, None)
    report = client_base.birthdays(actor, dt.date(2027, 3, 1), dt.date(2027, 3, 31))
    assert [(row["_contact_id"], row["age"]) for row in report.rows] == [(contact, None)]
