"""Database-wide settings (sections, labels, custom fields, event lists, sources, groups)
and each user's own preferences; plus the audit trail they leave."""

from __future__ import annotations

import pytest

from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import set_language
from tui_crm.services.core import audit, records, settings, users
from tui_crm.services.core.rights import Actor


@pytest.fixture
def manager(db, actor: Actor) -> Actor:
    users.add_user(actor, "anna", role="manager")
    return users.actor_for("anna")


def test_sections_default_order_and_language(db) -> None:
    keys = [s.key for s in settings.sections()]
    assert keys == list(settings.SECTIONS)
    assert settings.sections()[2].name == "Organizations"
    set_language("ru")
    assert settings.sections()[0].name == "Сегодня"
    assert settings.section_name("organizations") == "Организации"


def test_configure_section(db, actor: Actor, manager: Actor) -> None:
    info = settings.configure_section(actor, "organizations", name="Клиенты", position=0)
    assert (info.key, info.name, info.hidden, info.position) == ("organizations", "Клиенты",
                                                                  False, 0)
    assert settings.sections()[0].key == "organizations"
    assert settings.section_name("organizations") == "Клиенты"
    settings.configure_section(actor, "links", hidden=True)
    assert "links" not in [s.key for s in settings.sections()]
    assert [s.hidden for s in settings.sections(include_hidden=True) if s.key == "links"] == [
        True]
    settings.configure_section(actor, "links", hidden=False)
    assert "links" in [s.key for s in settings.sections()]
    settings.configure_section(actor, "organizations", name="")
    assert settings.section_name("organizations") == "Organizations"
    with pytest.raises(ValidationError) as err:
        settings.configure_section(actor, "settings", hidden=True)
    assert list(err.value.errors) == ["hidden"]
    with pytest.raises(NotFound):
        settings.configure_section(actor, "nonsense", name="x")
    with pytest.raises(PermissionDenied):
        settings.configure_section(manager, "organizations", name="Мои")
    assert [e.action for e in audit.history("sections")] == ["settings"] * 4


def test_field_labels(db, actor: Actor, manager: Actor) -> None:
    assert settings.field_label("organizations", "name") == "Name"
    settings.rename_field(actor, "organizations", "name", "Компания")
    assert settings.field_label("organizations", "name") == "Компания"
    assert settings.field_labels("organizations") == {"name": "Компания"}
    set_language("ru")
    assert settings.field_label("organizations", "city") == "Город"
    assert settings.field_label("organizations", "name") == "Компания"
    settings.rename_field(actor, "organizations", "name", "")
    assert settings.field_label("organizations", "name") == "Название"
    with pytest.raises(NotFound):
        settings.rename_field(actor, "organizations", "nonsense", "x")
    with pytest.raises(PermissionDenied):
        settings.rename_field(manager, "organizations", "name", "x")


def test_custom_fields_lifecycle(db, actor: Actor, manager: Actor) -> None:
    info = settings.add_custom_field(actor, "contacts", "Размер обуви", "number")
    assert (info.section, info.name, info.label, info.kind, info.choices, info.active) == (
        "contacts", "razmer_obuvi", "Размер обуви", "number", [], True)
    choice = settings.add_custom_field(actor, "contacts", "Канал", "choice",
                                       [" Email ", "Звонок", ""], name="channel")
    assert choice.choices == ["Email", "Звонок"]
    assert [f.name for f in settings.list_custom_fields("contacts")] == ["razmer_obuvi",
                                                                        "channel"]
    assert settings.field_label("contacts", "channel") == "Канал"
    specs = {f.name: f for f in records.field_specs("contacts") if f.custom}
    assert specs["channel"].type == "choice"
    assert specs["channel"].choices == {"Email": "Email", "Звонок": "Звонок"}
    assert specs["razmer_obuvi"].type == "decimal"

    person = records.create(actor, "contacts", {"last_name": "Ли", "razmer_obuvi": "42",
                                                "channel": "звонок"})
    assert person.custom == {"razmer_obuvi": 42, "channel": "Звонок"}
    settings.remove_custom_field(actor, info.id)
    assert records.get(actor, "contacts", person.id).custom == {"channel": "Звонок"}
    with pytest.raises(ValidationError):
        records.update(actor, "contacts", person.id, {"razmer_obuvi": "43"})
    # The values stay in the database, so turning the field back on restores them.
    from tui_crm.db import models as m

    m.CustomField.update(active=True).where(m.CustomField.id == info.id).execute()
    assert records.get(actor, "contacts", person.id).custom["razmer_obuvi"] == 42

    bad = [
        (("nonsense", "X", "text"), "section"),
        (("contacts", "  ", "text"), "label"),
        (("contacts", "X", "colour"), "kind"),
        (("contacts", "Канал", "choice", []), "choices"),
        (("contacts", "Last name", "text", None, "last_name"), "name"),
        (("contacts", "Дубль", "text", None, "channel"), "name"),
        (("contacts", "Bad", "text", None, "Bad Name"), "name"),
    ]
    for args, field in bad:
        with pytest.raises(ValidationError) as err:
            settings.add_custom_field(actor, *args)
        assert field in err.value.errors, args
    with pytest.raises(PermissionDenied):
        settings.add_custom_field(manager, "contacts", "Мой", "text")
    with pytest.raises(NotFound):
        settings.remove_custom_field(actor, 999)


def test_event_types_and_results(db, actor: Actor, manager: Actor) -> None:
    types = settings.event_types()
    call = types[0]
    assert (call.code, call.name) == ("call", "Call")
    assert [r.code for r in call.results][:3] == ["no_answer", "secretary", "reached_dm"]
    interested = next(r for r in call.results if r.code == "interested")
    assert (interested.warm, interested.reached_decision_maker, interested.productive) == (
        True, True, True)
    set_language("ru")
    assert settings.event_types()[0].name == "Звонок"
    set_language("en")

    demo = settings.add_event_type(actor, "demo", "Demo", "Демонстрация")
    assert (demo.code, demo.name, demo.results) == ("demo", "Demo", [])
    result = settings.add_event_result(actor, "demo", "liked", "Liked it", "Понравилось",
                                       warm=True)
    assert (result.code, result.name, result.warm) == ("liked", "Liked it", True)
    event = records.create(actor, "events", {"event_type": "Демонстрация",
                                             "starts_at": "01.03.2027 11:00",
                                             "result": "liked"})
    assert event.values["result"] == result.id
    settings.remove_event_result(actor, result.id)
    assert [t.results for t in settings.event_types() if t.code == "demo"] == [[]]

    with pytest.raises(ValidationError):
        settings.add_event_type(actor, "demo", "Again")
    with pytest.raises(ValidationError):
        settings.add_event_type(actor, "Bad Code", "Bad")
    with pytest.raises(NotFound):
        settings.add_event_result(actor, "nonsense", "x", "X")
    with pytest.raises(ValidationError):
        settings.add_event_result(actor, "call", "interested", "Again")
    with pytest.raises(NotFound):
        settings.remove_event_result(actor, 9999)
    with pytest.raises(PermissionDenied):
        settings.add_event_type(manager, "mine", "Mine")


def test_sources_groups_and_preferences(db, actor: Actor, manager: Actor) -> None:
    assert settings.sources() == ["Cold call", "Website", "Referral", "Exhibition",
                                  "Advertising", "Social networks", "Repeat request"]
    settings.add_source(actor, " Партнёры ")
    assert settings.sources()[-1] == "Партнёры"
    org = records.create(actor, "organizations", {"name": "Новая", "source": "партнеры"})
    assert org.display["source"] == "Партнёры"
    with pytest.raises(PermissionDenied):
        settings.add_source(manager, "Мой")
    with pytest.raises(ValidationError):
        settings.add_source(actor, " ")

    north = settings.add_group(actor, "organizations", "Север")
    city = settings.add_group(manager, "organizations", "Мурманск", parent=north)
    other = settings.add_group(actor, "contacts", "Север")
    assert settings.groups("organizations") == [(city, "Мурманск", north),
                                                (north, "Север", None)]
    assert settings.groups("contacts") == [(other, "Север", None)]
    # A name is resolved within the section's own tree.
    placed = records.create(actor, "contacts", {"last_name": "Ким", "group": "Север"})
    assert placed.values["group"] == other
    with pytest.raises(ValidationError):
        settings.add_group(actor, "organizations", "")

    assert settings.user_preference(manager, "theme") == ""
    settings.set_user_preference(manager, "theme", "nord")
    settings.set_user_preference(manager, "language", "ru")
    assert settings.user_preference(manager, "theme") == "nord"
    assert settings.user_preference(manager, "language") == "ru"
    assert settings.user_preference(actor, "theme") == ""
    with pytest.raises(ValidationError):
        settings.set_user_preference(manager, "colour", "red")


def test_audit_history_filters(db, actor: Actor, manager: Actor) -> None:
    a = records.create(actor, "tasks", {"title": "A"})
    b = records.create(manager, "tasks", {"title": "B"})
    records.update(manager, "tasks", b.id, {"title": "B2", "priority": "high"})
    records.delete(manager, "tasks", b.id)
    assert [(e.action, e.field) for e in audit.history("tasks", b.id)] == [
        ("delete", ""), ("update", "priority"), ("update", "title"), ("create", "")]
    updates = audit.history("tasks", b.id, action="update")
    assert {(e.field, e.old, e.new, e.login) for e in updates} == {
        ("title", "B", "B2", "anna"), ("priority", "normal", "high", "anna")}
    assert [e.record_id for e in audit.history("tasks", login=actor.login)] == [a.id]
    assert len(audit.history("tasks", limit=2)) == 2
    assert audit.history("tasks", b.id, action="restore") == []
