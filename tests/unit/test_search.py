"""Quick search: Cyrillic case, ё = е, substrings, phone digits, ranking, and any text a user
can type (none of it may raise)."""

from __future__ import annotations

import pytest

from tui_crm.services.core import records, search_docs, search_match
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search
from tui_crm.services.search.search import Hit


@pytest.fixture
def data(db, actor: Actor) -> dict[str, int]:
    def org(name: str, **more: object) -> int:
        return records.create(actor, "organizations",
                              {"name": name, "status": "client", **more}).id

    ids = {
        "romashka": org("Ромашка"),
        "romashka_plus": org("ООО Ромашка Плюс", city="Тверь"),
        "flowers": org("Цветы и ромашки", inn="7707083893"),
        "acme": org("ACME Trading Ltd", phones=["+7 (916) 123-45-67"],
                    emails=["Sales@Acme-Trading.com"]),
        "elka": org("Ёлочка", city="Орёл"),
        "semenov": org("ИП Семенов", notes="звонить после обеда"),
    }
    ids["elkin"] = records.create(actor, "contacts", {
        "last_name": "Ёлкин", "first_name": "Пётр", "organization": ids["acme"],
        "phones": ["8 (495) 765-43-21"], "emails": ["p.elkin@example.ru"]}).id
    ids["task"] = records.create(actor, "tasks", {"title": "Отправить КП в Ромашку"}).id
    ids["event"] = records.create(actor, "events", {
        "event_type": "call", "starts_at": "01.02.2027 10:00", "organization": ids["acme"],
        "next_step": "call-back после праздников"}).id
    ids["note"] = records.create(actor, "notes", {"title": "C++ и SQL", "body": "50% скидка_"}).id
    ids["link"] = records.create(actor, "links", {"url": "https://crm.example.com/login",
                                                  "title": "Личный кабинет"}).id
    return ids


def found(actor: Actor, text: str, **kw: object) -> list[tuple[str, int]]:
    return [(h.section, h.id) for h in search.quick_search(actor, text, **kw)]


def test_cyrillic_and_latin_case(data: dict[str, int], actor: Actor) -> None:
    for text in ("РОМАШКА", "ромашка", "РоМаШкА"):
        assert ("organizations", data["romashka"]) in found(actor, text)
    for text in ("acme", "ACME", "Acme trading"):
        assert found(actor, text)[0] == ("organizations", data["acme"])


def test_yo_equals_ye_both_ways(data: dict[str, int], actor: Actor) -> None:
    # Stored with ё, typed with е and with ё.
    assert found(actor, "елкин") == [("contacts", data["elkin"])]
    assert found(actor, "ЁЛКИН") == [("contacts", data["elkin"])]
    assert found(actor, "петр") == [("contacts", data["elkin"])]
    assert found(actor, "елочка") == [("organizations", data["elka"])]
    assert found(actor, "орел") == [("organizations", data["elka"])]
    # Stored with е, typed with ё.
    assert found(actor, "Семёнов") == [("organizations", data["semenov"])]


def test_substrings(data: dict[str, int], actor: Actor) -> None:
    hits = found(actor, "омашк")
    assert set(hits) == {("organizations", data["romashka"]),
                         ("organizations", data["romashka_plus"]),
                         ("organizations", data["flowers"]), ("tasks", data["task"])}
    assert found(actor, "после обеда") == [("organizations", data["semenov"])]
    assert found(actor, "обеда после") == [("organizations", data["semenov"])]
    # A contact's and an event's documents carry their organization's name.
    assert set(found(actor, "rading")) == {("organizations", data["acme"]),
                                           ("contacts", data["elkin"]),
                                           ("events", data["event"])}


@pytest.mark.parametrize("text", [
    "9161234567", "89161234567", "79161234567", "+79161234567", "8 916 123 45 67",
    "+7 (916) 123-45-67", "8-916-123-45-67", "(916) 123-45-67", "123-45-67", "1234567",
    "916 123",
])
def test_phone_digits_whatever_the_format(data: dict[str, int], actor: Actor,
                                          text: str) -> None:
    assert found(actor, text) == [("organizations", data["acme"])]


def test_contact_phone_and_other_fields(data: dict[str, int], actor: Actor) -> None:
    assert found(actor, "+7 495 765 43 21") == [("contacts", data["elkin"])]
    assert found(actor, "sales@acme-trading.com") == [("organizations", data["acme"])]
    assert found(actor, "SALES@ACME") == [("organizations", data["acme"])]
    assert found(actor, "p.elkin@") == [("contacts", data["elkin"])]
    assert found(actor, "7707083893") == [("organizations", data["flowers"])]
    assert found(actor, "crm.example.com") == [("links", data["link"])]
    assert found(actor, "кабинет") == [("links", data["link"])]
    assert found(actor, "call-back") == [("events", data["event"])]
    assert found(actor, "C++") == [("notes", data["note"])]
    assert found(actor, "50%") == [("notes", data["note"])]
    assert found(actor, "скидка_") == [("notes", data["note"])]
    # A contact is found by its organization's name too.
    assert ("contacts", data["elkin"]) in found(actor, "acme trading")


def test_ranking_exact_title_first(data: dict[str, int], actor: Actor) -> None:
    hits = search.quick_search(actor, "ромашка")
    assert (hits[0].section, hits[0].id) == ("organizations", data["romashka"])
    assert hits[0].title == "Ромашка"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    plus = search.quick_search(actor, "ромашка плюс")
    assert (plus[0].section, plus[0].id) == ("organizations", data["romashka_plus"])
    assert all(isinstance(h, Hit) for h in hits)
    assert hits[0].to_dict() == {"section": "organizations", "id": data["romashka"],
                                 "title": "Ромашка", "score": round(hits[0].score, 3)}


def test_sections_and_limit(data: dict[str, int], actor: Actor) -> None:
    assert found(actor, "ромашк", sections=["tasks"]) == [("tasks", data["task"])]
    assert found(actor, "ромашк", sections=["tasks", "notes"]) == [("tasks", data["task"])]
    assert len(search.quick_search(actor, "ромашк", limit=2)) == 2
    assert found(actor, "ромашк", sections=["payments"]) == []
    assert found(actor, "ромашк", sections=[]) != []  # empty means every section


def test_short_queries(data: dict[str, int], actor: Actor) -> None:
    # Both titles start with "ел"; on an equal match a client comes before a person.
    assert found(actor, "ёл") == [("organizations", data["elka"]), ("contacts", data["elkin"])]
    assert found(actor, "Ц") == [("organizations", data["flowers"])]
    assert found(actor, "щ") == []
    assert found(actor, "ро кп") == [("tasks", data["task"])]
    assert found(actor, "++") == [("notes", data["note"])]


def test_search_follows_edits_and_trash(data: dict[str, int], actor: Actor) -> None:
    records.update(actor, "organizations", data["romashka"], {"name": "Василёк"})
    assert found(actor, "василек") == [("organizations", data["romashka"])]
    assert ("organizations", data["romashka"]) not in found(actor, "ромашка")
    # A contact's document names its organization; it follows a changed link.
    records.update(actor, "contacts", data["elkin"], {"organization": data["romashka"]})
    assert ("contacts", data["elkin"]) in found(actor, "василек")
    records.delete(actor, "contacts", data["elkin"])
    assert found(actor, "елкин") == []
    records.restore(actor, "contacts", data["elkin"])
    assert found(actor, "елкин") == [("contacts", data["elkin"])]


def test_rebuild_gives_the_same_results(data: dict[str, int], actor: Actor) -> None:
    before = {text: sorted(found(actor, text)) for text in
              ("ромашк", "9161234567", "елкин", "ёл", "c++")}
    written = search_docs.rebuild()
    assert written == 11
    after = {text: sorted(found(actor, text)) for text in before}
    assert after == before
    assert search_docs.rebuild(["contacts"]) == 1
    assert sorted(found(actor, "елкин")) == before["елкин"]


NASTY = [
    '"', "'", '""', "''", '"ромашка', "ромашка\"", "-", "--", "-ромашка", "*", "ром*", "(",
    ")", "()", "(ромашка", "AND", "OR", "NOT", "NEAR", "NEAR(a b)", "a AND b", "a OR b",
    "NOT ромашка", "ромашка AND", "C++", "call-back", "^", "^ромашка", ":", "body:x",
    "title:ромашка", "kind:tasks", "{}", "{a b}", "\\", "\\\\", "%", "%%", "_", "__", "😀",
    "ромашка 🌼", "\t", "\x01\x02", "a\x1fb", "\u200b", "\ufeff", "ℌ𝔢𝔩𝔩𝔬", "ß", "İ",
    "x" * 10_000, "ромашка " * 2000, "'; DROP TABLE organization; --",
    "1 OR 1=1", "' OR '1'='1", "\"; DELETE FROM search_doc; --", "%' OR 1=1 --", "NULL",
    "?", "??", "$1", "%s", "%(x)s", "{0}", "[", "]", "[]", "<script>", "&&", "||", "!", "~",
    "@", "#", "+7", "+", "8", "()-+", "   ", "", "\n", ".*", "a*b", "*:*", "NEAR/2",
    '"a" "b"', "ромашка -ромашка", "rank", "bm25(search_doc)", "search_doc",
]


def test_nasty_strings_never_raise(data: dict[str, int], actor: Actor, row_counts) -> None:
    assert len(NASTY) >= 25
    before = row_counts()
    for text in NASTY:
        hits = search.quick_search(actor, text)
        assert isinstance(hits, list), text
        assert all(isinstance(h, Hit) for h in hits), text
        for kind in ("organizations", "contacts", "notes"):
            page = records.list_records(actor, kind, records.ListQuery(text=text))
            assert page.total == len(page.rows), text
            assert records.count(actor, kind, records.ListQuery(text=text)) == page.total
        assert search_match.match_ids_sql("organizations", text) is None or hits is not None
    assert row_counts() == before


def test_nasty_strings_find_what_they_say(data: dict[str, int], actor: Actor) -> None:
    assert found(actor, "'; DROP TABLE organization; --") == []
    assert found(actor, "x" * 10_000) == []
    assert found(actor, "ромашка " * 2000)[0] == ("organizations", data["romashka"])
    for quoted in ('"ромашка', '"ромашка"', "«Ромашка»", "'ромашка'", "(ромашка)", "[ромашка"):
        assert found(actor, quoted) == found(actor, "ромашка")
    assert found(actor, "ромашка") == [("organizations", data["romashka"]),
                                       ("organizations", data["romashka_plus"])]
    for bare in ('"', "()", "{}", "«»", "''"):
        assert found(actor, bare) == []
    assert found(actor, "body:x") == []
    assert found(actor, "NEAR") == []
    assert found(actor, "") == []
    assert found(actor, "   ") == []


def test_a_whole_word_ranks_before_a_longer_word(db, actor) -> None:
    pyotr = records.create(actor, "contacts", {"last_name": "Иванов", "first_name": "Пётр"})
    ivan = records.create(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван",
                                              "middle_name": "Иванович"})
    hits = [(h.section, h.id) for h in search.quick_search(actor, "иван")]
    assert hits.index(("contacts", ivan.id)) < hits.index(("contacts", pyotr.id))
