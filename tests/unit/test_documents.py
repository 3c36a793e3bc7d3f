"""Word documents from .docx templates filled from a card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docx import Document

from tests.unit.test_importing import run_cli
from tui_crm.errors import CrmError, NotFound
from tui_crm.services.core import records
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import documents


def text_of(path: Path) -> str:
    document = Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def make_template(path: Path, *paragraphs: str) -> Path:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


@pytest.fixture
def deal(db, actor: Actor) -> records.RecordView:
    org = records.create(actor, "organizations", {
        "name": "ООО Ромашка", "legal_name": "Общество с ограниченной ответственностью «Ромашка»",
        "inn": "7707083893", "city": "Москва", "address": "ул. Ленина, 1", "source": "Website",
        "phones": ["+7 495 111-22-33"], "emails": ["info@romashka.ru"]})
    contact = records.create(actor, "contacts", {
        "last_name": "Иванов", "first_name": "Иван", "middle_name": "Петрович",
        "organization": org.id, "position": "Генеральный директор", "is_decision_maker": "yes"})
    return records.create(actor, "deals", {"title": "Поставка бумаги", "organization": org.id,
                                           "contact": contact.id, "amount": "125000.50"})


def test_examples_are_written_once_into_the_templates_folder(db) -> None:
    found = documents.list_templates()
    assert [p.stem for p in found] == ["contract", "invoice", "letter"]
    assert found[0].parent == documents.templates_dir()
    (found[0].parent / "contract.docx").write_bytes(found[1].read_bytes())
    assert documents.write_examples() == []  # nothing overwritten


def test_contract_from_a_deal(tmp_path: Path, deal, actor: Actor) -> None:
    out = documents.render(actor, "contract", "deals", deal.id, tmp_path / "c.docx")
    text = text_of(out)
    assert "Общество с ограниченной ответственностью «Ромашка», tax id 7707083893" in text
    assert "Генеральный директор Иванов Иван Петрович" in text
    assert "Amount: 125,000.50" in text
    assert "{{" not in text and "{%" not in text


def test_invoice_table_and_letter_from_an_organization(tmp_path: Path, deal,
                                                       actor: Actor) -> None:
    invoice = text_of(documents.render(actor, "invoice", "deals", deal.id, tmp_path / "i.docx"))
    assert "Поставка бумаги" in invoice and "ул. Ленина, 1" in invoice
    org_id = deal.values["organization"]
    letter = text_of(documents.render(actor, "letter", "organizations", org_id,
                                      tmp_path / "l.docx"))
    assert "Dear Иван Иванов," in letter  # the decision maker of the organization


def test_missing_field_and_missing_card_are_clear_messages(tmp_path: Path, deal,
                                                           actor: Actor) -> None:
    bad = make_template(tmp_path / "bad.docx", "ИНН: {{ org.inn }}, КПП: {{ org.kpp }}")
    with pytest.raises(CrmError, match=r"\{\{ org.kpp \}\}.*not a field"):
        documents.render(actor, bad, "deals", deal.id, tmp_path / "out.docx")
    assert not (tmp_path / "out.docx").exists()
    lonely = records.create(actor, "organizations", {"name": "Без сделок", "source": "Website"})
    with pytest.raises(CrmError, match=r"\{\{ deal.id \}\}.*has no deal"):
        documents.render(actor, "invoice", "organizations", lonely.id, tmp_path / "x.docx")
    not_docx = tmp_path / "plain.docx"
    not_docx.write_text("hello")
    with pytest.raises(CrmError, match="not a Word"):
        documents.render(actor, not_docx, "deals", deal.id, tmp_path / "y.docx")
    with pytest.raises(NotFound, match="No template"):
        documents.find_template("nonexistent")


def test_templates_cannot_reach_objects(tmp_path: Path, deal, actor: Actor) -> None:
    sneaky = make_template(tmp_path / "s.docx", "{{ org.__class__.__mro__ }}")
    with pytest.raises(CrmError):
        documents.render(actor, sneaky, "deals", deal.id, tmp_path / "s-out.docx")
    mutating = make_template(tmp_path / "m.docx", "{{ org.clear() }}")
    with pytest.raises(CrmError):
        documents.render(actor, mutating, "deals", deal.id, tmp_path / "m-out.docx")


def test_cli_document(tmp_path: Path, deal, actor: Actor, capsys) -> None:
    out = tmp_path / "contract.docx"
    code, text = run_cli(["document", "contract", "deals", str(deal.id), "-o", str(out),
                          "--json"], actor, capsys)
    assert code == 0 and json.loads(text)["file"] == str(out)
    assert "Поставка бумаги" in text_of(out)
    code, text = run_cli(["document"], actor, capsys)
    assert "invoice" in text


# --- the sandbox and limits of the mail templates --------------------------------------------


HOSTILE = {
    "center": "{{ 'x'|center(10**9) }}",
    "center_float": "{{ 'x'|center(1e9) }}",
    "multiply": "{{ 'x' * 10**9 }}",
    "range": "{% for i in range(10**9) %}x{% endfor %}",
    "nested_loops": "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}"
                    "{% endfor %}",
    "doubling": "{% set s = 'x' * 1000000 %}{{ s ~ s ~ s ~ s ~ s ~ s }}",
    "format_width": "{{ '%999999999d'|format(1) }}",
    "power": "{{ 10 ** 100000000 }}",
    "dunder": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "mutate": "{{ org.update({'name': 1}) }}",
    "cycler": "{{ cycler.__init__.__globals__ }}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_template_stops_with_one_line_and_no_big_allocation(
        tmp_path: Path, deal, actor: Actor, name: str) -> None:
    import tracemalloc

    template = make_template(tmp_path / f"{name}.docx", "Договор", HOSTILE[name])
    out = tmp_path / "out.docx"
    tracemalloc.start()
    try:
        with pytest.raises(CrmError) as refused:
            documents.render(actor, template, "deals", deal.id, out)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024  # a gigabyte was asked for
    message = str(refused.value)
    assert "\n" not in message and f"{name}.docx" in message
    assert not out.exists()


def test_the_time_limit_applies_to_documents(tmp_path: Path, deal, actor: Actor) -> None:
    from tui_crm.services.core.templating import Limits

    template = make_template(tmp_path / "slow.docx", "{% for i in range(9000) %}{{ i }}"
                                                     "{% endfor %}")
    with pytest.raises(CrmError, match="takes longer than"):
        documents.render(actor, template, "deals", deal.id, tmp_path / "o.docx",
                         limits=Limits(max_chars=5_000_000, time_limit=-1.0))
    done = documents.render(actor, template, "deals", deal.id, tmp_path / "o.docx")
    assert "8999" in text_of(done)


def test_template_files_too_large_are_refused_before_reading(tmp_path: Path, deal,
                                                             actor: Actor) -> None:
    import zipfile

    huge = tmp_path / "huge.docx"
    with open(huge, "wb") as fh:
        fh.truncate(documents.MAX_TEMPLATE_BYTES + 1)
    with pytest.raises(CrmError, match="larger than 20 MB"):
        documents.render(actor, huge, "deals", deal.id, tmp_path / "o.docx")
    bomb = make_template(tmp_path / "bomb.docx", "{{ org.name }}")
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as part:
            chunk = bytes(1024 * 1024)
            for _i in range(documents.MAX_UNPACKED_BYTES // len(chunk) + 1):
                part.write(chunk)
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(CrmError, match="unpacks to more than 100 MB"):
        documents.render(actor, bomb, "deals", deal.id, tmp_path / "o.docx")


def test_field_values_are_written_as_text_not_as_document_xml(tmp_path: Path, deal,
                                                              actor: Actor) -> None:
    org = deal.values["organization"]
    name = 'Рога & Копыта <w:p>"</w:t>'
    records.update(actor, "organizations", org, {"name": name})
    template = make_template(tmp_path / "n.docx", "Клиент: {{ org.name }}.")
    out = documents.render(actor, template, "deals", deal.id, tmp_path / "n-out.docx")
    assert f"Клиент: {name}." in text_of(out)
