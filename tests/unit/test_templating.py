"""Mail-merge templates in the Jinja2 sandbox: fields, missing fields, escapes, limits."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from tui_crm.services.core import templating
from tui_crm.services.core.templating import (
    Limits,
    MissingField,
    TemplateForbidden,
    TemplateSyntax,
    TemplateTooLarge,
    TemplateTooSlow,
    render,
)

CONTEXT = {
    "contact": {"first_name": "Иван", "last_name": "Петров", "birthday": "01.05.1980",
                "tags": ["опт", "vip"]},
    "org": {"name": "Ромашка <ООО> & Co", "city": "Москва", "tier": "gold",
            "amount": Decimal("1500.50")},
    "sender": {"name": "Olga", "email": "olga@firm.test"},
    "today": dt.date(2026, 10, 1),
}


def test_fields_custom_fields_filters_and_loops() -> None:
    text = render(
        "{{ contact.first_name }} {{ contact.last_name|upper }}, {{ org.name }} "
        "({{ org.city }}, {{ org.tier }}): {{ org.amount }}; "
        "{% for t in contact.tags %}[{{ t }}]{% endfor %} {{ contact.nick|default('—') }} "
        "{{ 'yes' if contact.nick is defined else 'no' }} {{ today }}", CONTEXT)
    assert text == ("Иван ПЕТРОВ, Ромашка <ООО> & Co (Москва, gold): 1500.50; [опт][vip] — no "
                    "2026-10-01")


def test_html_templates_escape_the_data_not_the_markup() -> None:
    out = render("<p>Hello, <b>{{ org.name }}</b></p>", CONTEXT, html=True)
    assert out == "<p>Hello, <b>Ромашка &lt;ООО&gt; &amp; Co</b></p>"
    assert render("{{ org.name }}", CONTEXT) == "Ромашка <ООО> & Co"  # plain text is not


@pytest.mark.parametrize(("source", "field"), [
    ("{{ contact.middle_name }}", "contact.middle_name"),
    ("Dear {{ nobody }}", "nobody"),
    ("{{ org.owner.name }}", "org.owner"),
    ("{% if contact.vip %}x{% endif %}", "contact.vip"),
])
def test_a_missing_field_is_named(source: str, field: str) -> None:
    with pytest.raises(MissingField) as caught:
        render(source, CONTEXT)
    assert caught.value.field_name == field
    assert str(caught.value) == f"Missing field {field}"


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(TemplateSyntax, match="line 2"):
        templating.compile_template("Hello\n{{ contact.first_name ")


@pytest.mark.parametrize("source", [
    "{{ contact.__class__ }}",
    "{{ contact.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ range.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__['os'] }}",
    "{{ (1).__class__.__base__.__subclasses__() }}",
    "{{ contact.items.__self__.__class__ }}",
    "{{ contact.update({'first_name': 'x'}) }}",
    "{{ contact.tags.append('x') }}",
    "{{ contact|attr('__class__') }}",
    "{{ contact.pop('first_name') }}",
])
def test_the_sandbox_stops_escapes_and_changes(source: str) -> None:
    with pytest.raises(TemplateForbidden):
        render(source, CONTEXT)
    assert CONTEXT["contact"]["first_name"] == "Иван" and CONTEXT["contact"]["tags"] == [
        "опт", "vip"]


@pytest.mark.parametrize("source", [
    "{{ 'x' * 1000000000 }}",
    "{{ 'x' * 100000 * 100000 }}",
    "{{ [1] * 100000000 }}",
    "{% for i in range(10000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}",
    "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% else %}{{ s|length }}{% endif %}"
    "{% endmacro %}{{ f('x', 60) }}",
    "{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(60) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% set big = 'x' * 100000 %}{% macro m() %}{% for i in range(5000) %}{{ big }}"
    "{% endfor %}{% endmacro %}{{ m()|length }}",
    "{% set big = 'x' * 100000 %}{% set s %}{% for i in range(5000) %}{{ big }}{% endfor %}"
    "{% endset %}{{ s|length }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '{:999999999}'.format(1) }}",
    "{{ 'a'|center(999999999) }}",
    "{{ 'ab'|indent(999999999) }}",
    "{{ ('a' * 1000)|replace('a', 'b' * 100000) }}",
    "{{ ('a' * 1000).replace('a', 'b' * 100000) }}",
    "{{ 2 ** 100000000 }}",
    "{{ (('x' * 100000,) * 10000)|join }}",
    "{{ range(100000000)|list }}",
])
def test_huge_output_is_stopped_before_it_is_built(source: str) -> None:
    with pytest.raises((TemplateTooLarge, TemplateTooSlow)):
        render(source, CONTEXT)


def test_endless_loops_are_stopped() -> None:
    with pytest.raises(TemplateTooSlow, match="repeats"):
        render("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
               CONTEXT)
    with pytest.raises(TemplateTooSlow, match="repeats"):
        render("{% set l = range(1000)|list %}{% for a in l %}{% for b in l %}{% endfor %}"
               "{% endfor %}", CONTEXT)


def test_the_time_limit() -> None:
    with pytest.raises(TemplateTooSlow, match="longer than"):
        render("{% for i in range(10) %}{{ i }}{% endfor %}", CONTEXT,
               limits=Limits(time_limit=-1))  # any work at all is over the limit


def test_output_limit_is_configurable() -> None:
    assert render("{{ 'x' * 50 }}", CONTEXT, limits=Limits(max_chars=50)) == "x" * 50
    with pytest.raises(TemplateTooLarge):
        render("{{ 'x' * 51 }}", CONTEXT, limits=Limits(max_chars=50))
    with pytest.raises(TemplateTooLarge):
        render("x" * 51, CONTEXT, limits=Limits(max_chars=50))


def test_only_plain_data_reaches_a_template() -> None:
    from tui_crm.db.models import User

    with pytest.raises(TypeError, match="User"):
        render("{{ owner.login }}", {"owner": User(login="x")})
    with pytest.raises(TypeError):
        render("{{ x }}", {"x": threading.Lock()})
    with pytest.raises(TypeError):
        render("{{ x }}", {"x": object()})


def test_a_compiled_template_is_reused_safely_across_threads() -> None:
    compiled = templating.compile_template("Hi {{ contact.first_name }} {{ n }}")
    results: dict[int, str] = {}

    def work(n: int) -> None:
        results[n] = render(compiled, {"contact": {"first_name": "A"}, "n": n})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: f"Hi A {n}" for n in range(8)}
