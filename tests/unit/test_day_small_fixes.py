"""The smaller wrong-data items of issue 15, each at the service or CLI level."""

from __future__ import annotations

from tui_crm.cli.main import main
from tui_crm.db import open_database
from tui_crm.services.core import records, users
from tui_crm.services.core.records import ListQuery


def test_payments_are_found_by_their_clients_name(db):
    admin = users.resolve_actor()
    soft = records.create(admin, "organizations", {"name": "Алмаз-Софт", "source": "Website",
                                                   "inn": "7707083893"})
    other = records.create(admin, "organizations", {"name": "Берёза", "source": "Website"})
    paid = records.create(admin, "payments", {"date": "2026-11-02", "amount": "1000",
                                              "organization": soft.id})
    records.create(admin, "payments", {"date": "2026-11-03", "amount": "2000",
                                       "organization": other.id})
    for text in ("Алмаз-Софт", "алмаз", "7707083893"):
        page = records.list_records(admin, "payments", ListQuery(text=text))
        assert [r.id for r in page.rows] == [paid.id], text
    assert records.list_records(admin, "payments", ListQuery(text="Кедр")).rows == []


def test_cli_list_payments_query(tmp_path, capsys):
    path = str(tmp_path / "pay.sqlite3")
    open_database(path)
    admin = users.resolve_actor()
    soft = records.create(admin, "organizations", {"name": "Алмаз-Софт", "source": "Website"})
    records.create(admin, "payments", {"date": "2026-11-02", "amount": "1000",
                                       "organization": soft.id})
    capsys.readouterr()
    assert main(["--db", path, "list", "payments", "--query", "Алмаз-Софт"]) == 0
    assert "Алмаз-Софт" in capsys.readouterr().out


def test_names_sort_with_yo_as_ye(db):
    from tui_crm.text.names import sort_key

    admin = users.resolve_actor()
    names = ["Жук", "Ёлка", "Абрикос", "Елена", "Дуб", "Ель"]
    for name in names:
        records.create(admin, "organizations", {"name": name, "source": "Website"})
    page = records.list_records(admin, "organizations", ListQuery(sort="name"))
    shown = [r.values["name"] for r in page.rows]
    assert shown == ["Абрикос", "Дуб", "Елена", "Ёлка", "Ель", "Жук"]
    assert shown == sorted(names, key=sort_key)  # one rule in SQL and in Python
    back = records.list_records(admin, "organizations", ListQuery(sort="name", descending=True))
    assert [r.values["name"] for r in back.rows] == shown[::-1]


def test_a_warm_result_in_a_form_needs_a_next_step(db):
    import pytest

    from tui_crm.errors import ValidationError

    admin = users.resolve_actor()
    org = records.create(admin, "organizations", {"name": "Кедр", "source": "Website"})
    data = {"event_type": "call", "starts_at": "2026-11-27 10:00", "organization": org.id,
            "status": "done", "result": "interested"}
    with pytest.raises(ValidationError) as refused:
        records.create(admin, "events", data)
    assert "next_step" in refused.value.errors
    cold = records.create(admin, "events", {**data, "result": "no_answer"})
    with pytest.raises(ValidationError):
        records.update(admin, "events", cold.id, {"result": "interested"})
    warm = records.update(admin, "events", cold.id, {"result": "interested",
                                                     "next_step": "КП в пятницу"})
    assert warm.values["next_step"] == "КП в пятницу"
    # Editing the note of an event already logged asks nothing new.
    records.update(admin, "events", warm.id, {"result_note": "позвонить бухгалтеру"})


def test_revert_puts_an_edit_back(db):
    import pytest

    from tui_crm.errors import ConflictError

    admin = users.resolve_actor()
    org = records.create(admin, "organizations", {
        "name": "Сосна", "source": "Website", "city": "Томск", "phones": ["work:+7 3822 11-22-33"],
        "tags": ["опт"]})
    before = records.get(admin, "organizations", org.id)
    after = records.update(admin, "organizations", org.id, {
        "name": "Сосна-2", "city": "", "phones": ["mobile:+7 913 000-00-01"], "tags": ["розница"]})
    back = records.revert(admin, before, after.version)
    assert (back.values["name"], back.values["city"], back.tags) == ("Сосна", "Томск", ["опт"])
    assert [(p.type, p.value) for p in back.points] == [
        (p.type, p.value) for p in before.points]
    # Someone saved in between: the undo refuses instead of overwriting their change.
    edited = records.update(admin, "organizations", org.id, {"name": "Сосна-3"})
    records.update(admin, "organizations", org.id, {"city": "Омск"})
    with pytest.raises(ConflictError):
        records.revert(admin, before, edited.version)


def test_unknown_fields_of_a_template():
    from tui_crm.services.core import templating

    tpl = templating.compile_template(
        "{% if greeting %}Hi{% endif %} {{ contact.first_name }} {{ contact.nick | default('') }}"
        " {% for i in range(2) %}{{ i }}{% endfor %}")
    context = {"contact": {"first_name": "Иван"}, "org": {}}
    assert templating.unknown_fields(tpl, context) == ["contact.nick", "greeting"]
