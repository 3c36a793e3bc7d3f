"""The cells of a table export, streamed straight from SQL a page at a time.

Building a RecordView per row (model objects, every reference named, display text for
every field, a title) cost ~95 % of a 100k-row export. Here one query gives the records'
own columns in the table's order, under the table's own filter, sort and visibility
(records.filtered_select / records.list_order, so a user exports what the table shows them and no
more); each page of rows then gets its phones, e-mails, messengers, tags and custom values
in one query apiece, and referenced names come from a cache that grows as new ids appear
(a handful of users, sources and groups are read once).

A page is converted a column at a time, by a converter chosen once per column: most are
dict look-ups mapped over the column (C speed), only dates, numbers and custom values run
Python per cell. The cells come out exactly as `exporting.cell_value` makes them from a
RecordView (tests/unit/test_export_rows.py compares the two on every kind).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from itertools import repeat
from typing import Any

from peewee import SQL, DateField, DecimalField

from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.db.database import current
from tui_crm.i18n import _, get_language
from tui_crm.services.core import lookups, records, values
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES, POINT_TYPES, KindSpec
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import org_names
from tui_crm.services.transfer.export_views import Column
from tui_crm.text import dates
from tui_crm.text.phones import format_phone

PAGE = 1000
MEMO = 50_000
# A page as columns: one sequence of cells per exported column, all of the page's length.
Columns = list[Sequence[Any]]
ConvertColumn = Callable[[Sequence[Any]], Sequence[Any]]
_MISSING = object()
_NULL = SQL("NULL")


def stream_pages(actor: Actor, kind: str, query: ListQuery | None, cols: Sequence[Column], *,
                 typed: bool, progress: Callable[[int, int], None] | None = None,
                 ) -> Iterator[Columns]:
    """The export's cells a page at a time, as columns, in the table's order.

    `typed` (for .xlsx): dates, whole numbers and decimals as such; otherwise display text.
    A bad filter raises here, before any page is read (and before the caller opens a file).
    """
    spec = records.kind_spec(kind)
    query = query or ListQuery()
    select = records.filtered_select(actor, spec, query)
    if select is None:
        return iter(())
    model = spec.model
    db = current()
    ctx = _Context(db, spec, typed, actor)
    customs = {cf.name: cf for cf in values.custom_fields(kind)}

    # One selected expression per column, in the export's order. A column filled per page
    # (phones, tags, a custom field) selects NULL and is made from the page's ids.
    exprs: list[Any] = []
    fixed: list[tuple[int, ConvertColumn]] = []
    by_page: list[tuple[int, Callable[[list[int]], ConvertColumn]]] = []  # made from the ids
    for index, col in enumerate(cols):
        if col.type in POINT_TYPES:
            exprs.append(_NULL)
            by_page.append((index, ctx.points_column(POINT_TYPES[col.type])))
        elif col.type == "tags":
            exprs.append(_NULL)
            by_page.append((index, ctx.tags_column))
        elif col.spec.custom:
            exprs.append(_NULL)
            by_page.append((index, ctx.custom_column(col, customs[col.name])))
        else:
            field = model._meta.fields[col.name]
            exprs.append(field)
            conv = (ctx.reference_column(col.type) if col.spec.is_reference
                    else _builtin(ctx, col, field))
            if conv is not None:
                fixed.append((index, conv))
    exprs.append(model.id)
    ordered = select.select(*exprs).order_by(*records.list_order(spec, query))
    total = ordered.count() if progress is not None else 0
    sql, params = ordered.sql()

    def pages() -> Iterator[Columns]:
        with backend(db).stream(sql, params) as cursor:
            done = 0
            while page := cursor.fetchmany(PAGE):
                columns: Columns = list(zip(*page, strict=True))
                ids = list(columns.pop())
                ctx.new_page()
                for index, conv in fixed:
                    columns[index] = conv(columns[index])
                for index, make in by_page:
                    columns[index] = make(ids)(ids)
                yield columns
                done += len(page)
                if progress is not None:
                    progress(done, total)

    return pages()



def stream_rows(actor: Actor, kind: str, query: ListQuery | None, cols: Sequence[Column], *,
                typed: bool, progress: Callable[[int, int], None] | None = None,
                ) -> Iterator[list[Any]]:
    """The same cells row by row (for writers that take rows)."""
    pages = stream_pages(actor, kind, query, cols, typed=typed, progress=progress)
    return (list(row) for page in pages for row in zip(*page, strict=True))


def _mapped(mapping: dict[Any, Any], column: Sequence[Any],
            fallback: Callable[[Any], Any]) -> list[Any]:
    """`mapping[v]` for each value (a C-level map), `fallback(v)` for what it lacks."""
    out = list(map(mapping.get, column, repeat(_MISSING)))
    if _MISSING in out:
        out = [fallback(v) if o is _MISSING else o for v, o in zip(column, out, strict=True)]
    return out


def _memo(make: Callable[[Any], Any], known: dict[Any, Any]) -> ConvertColumn:
    """A column converter that makes each distinct value's cell once: dates and numbers
    repeat a lot (a few thousand next-contact times among 100k organizations). Holds at
    most MEMO cells, then starts again."""
    def remember(v: Any) -> Any:
        cell = known[v] = make(v)
        return cell

    def convert(column: Sequence[Any]) -> list[Any]:
        if len(known) > MEMO:
            kept = {None: known[None]}
            known.clear()
            known.update(kept)
        return _mapped(known, column, remember)
    return convert


class _Context:
    """What the converters of one export share: typed or text, the language's words, the
    names read so far, and the points / tags / custom values of the current page."""

    def __init__(self, db: Any, spec: KindSpec, typed: bool, actor: Actor) -> None:
        self.db, self.spec, self.typed, self.actor = db, spec, typed, actor
        self.language = get_language()
        self.ru = self.language == "ru"
        self.yes, self.no = _("yes"), _("no")
        self.names: dict[str, dict[Any, str]] = {}
        self.namesakes = org_names.Namesakes()
        self._points: dict[str, dict[int, str]] | None = None
        self._custom: dict[int, dict[int, str]] | None = None
        self.customs: list[m.CustomField] = []

    def new_page(self) -> None:
        self._points = None
        self._custom = None

    def reference_column(self, ref_type: str) -> ConvertColumn:
        """Names of referenced records (a client the actor may not see is not named); ids not
        seen before are named in one query."""
        cache = self.names.setdefault(ref_type, {None: "", 0: ""})

        def convert(column: Sequence[Any]) -> list[str]:
            missing = set(column) - cache.keys()
            if missing:
                cache.update(dict.fromkeys(missing, ""))  # a gone record: named "" once
                named = lookups.names(ref_type, missing, actor=self.actor)
                cache.update(named)
                if ref_type == "organization":  # a shared name with its INN (org_names)
                    cache.update(self.namesakes.names(named))
            return list(map(cache.__getitem__, column))
        return convert

    def points_column(self, point_kind: str) -> Callable[[list[int]], ConvertColumn]:
        def for_page(ids: list[int]) -> ConvertColumn:
            if self._points is None:
                self._points = _points(self.db, self.spec, ids)
            texts = self._points.get(point_kind, {})
            return lambda column: list(map(texts.get, column, repeat("")))
        return for_page

    def tags_column(self, ids: list[int]) -> ConvertColumn:
        texts = _tags(self.db, self.spec, ids)
        return lambda column: list(map(texts.get, column, repeat("")))

    def custom_column(self, col: Column, cf: m.CustomField,
                      ) -> Callable[[list[int]], ConvertColumn]:
        self.customs.append(cf)
        empty = _custom_cell(self, col, cf, None)

        def for_page(ids: list[int]) -> ConvertColumn:
            if self._custom is None:
                self._custom = _custom_texts(self.db, self.customs, ids)
            cells = {rid: _custom_cell(self, col, cf, text)
                     for rid, text in self._custom.get(cf.id, {}).items()}
            return lambda column: list(map(cells.get, column, repeat(empty)))
        return for_page


def decimal_text(value: Decimal | int | float, ru: bool) -> str:
    """A number's cell text (`exporting.cell_value` uses it too). No thousands separators,
    the decimal separator of the language: a spreadsheet reads it as a number and the
    importer reads it back."""
    text = format(Decimal(value).normalize(), "f")
    return text.replace(".", ",") if ru else text


def _builtin(ctx: _Context, col: Column, field: Any) -> ConvertColumn | None:
    """The converter of a record's own column, from the values as the driver gives them;
    None where those are the cells already (text in a NOT NULL column)."""
    kind, typed = col.type, ctx.typed
    if kind in ("text", "multiline"):
        if not field.null:
            return None
        return lambda column: [v if v.__class__ is str else ("" if v is None else str(v))
                               for v in column]
    if kind == "choice":
        labels: dict[str | None, str] = {c: _(t) for c, t in col.spec.choices.items() if t}
        labels.update({None: "", "": ""})
        return lambda column: _mapped(labels, column, str)
    if kind == "bool":
        # SQLite gives 0 / 1, PostgreSQL False / True: equal keys of one dict.
        words = {None: "", "": "", True: ctx.yes, False: ctx.no}

        def truth(v: Any) -> str:
            return ctx.yes if v else ctx.no
        return lambda column: _mapped(words, column, truth)
    if kind == "int":
        def whole(v: Any) -> Any:
            if typed and v.__class__ is int:
                return v
            return values.display("int", v)
        return _memo(whole, {None: None if typed else ""})
    if kind in ("date", "datetime"):
        return _memo(_when(ctx, kind, field), {None: None if typed else ""})
    if kind == "decimal":
        return _memo(_number(ctx, field), {None: None if typed else ""})
    choices = col.spec.choices
    return lambda column: [values.display(kind, v, choices=choices) for v in column]


def _when(ctx: _Context, kind: str, field: Any) -> Callable[[Any], Any]:
    """A date or date-time cell: the value (typed) or its display text."""
    # SQLite gives text, PostgreSQL dates. fromisoformat reads what peewee writes; the
    # field's own conversion (the same result, slower) takes anything else.
    parse = field.python_value
    fast = dt.date.fromisoformat if isinstance(field, DateField) else dt.datetime.fromisoformat
    show: Callable[..., str] = dates.format_date if kind == "date" else dates.format_datetime
    shown = dt.date if kind == "date" else dt.datetime
    language, typed = ctx.language, ctx.typed

    def when(v: Any) -> Any:
        if v is None:
            return None if typed else ""
        if v.__class__ is str:
            try:
                v = fast(v)
            except ValueError:
                v = parse(v)
        if typed and isinstance(v, dt.date):
            return v
        if isinstance(v, shown):
            return show(v, language)
        return values.display(kind, v)
    return when


def _number(ctx: _Context, field: Any) -> Callable[[Any], Any]:
    """A decimal cell: the number (typed) or its text, with the column's places."""
    to_python = field.python_value
    exp = Decimal(1).scaleb(-field.decimal_places) if isinstance(field, DecimalField) else None
    typed = ctx.typed

    def number(v: Any) -> Any:
        if v is None:
            return None if typed else ""
        v = to_python(v)
        if exp is not None:  # as records._to_places: SQLite 1234.5, PostgreSQL 1234.50
            v = Decimal(v).quantize(exp)
        if isinstance(v, Decimal | int | float):
            return Decimal(v) if typed else decimal_text(v, ctx.ru)
        return values.display("decimal", v)
    return number


def _custom_cell(ctx: _Context, col: Column, cf: m.CustomField, text: str | None) -> Any:
    """A custom field's cell from its stored text, as exporting.cell_value makes it."""
    value = None if text is None else values.custom_from_text(cf, text)
    kind = col.type
    if ctx.typed and value is not None:
        if kind in ("date", "datetime") and isinstance(value, dt.date):
            return value
        if kind == "decimal" and isinstance(value, Decimal | int | float):
            return Decimal(value)
    if kind == "decimal" and isinstance(value, Decimal | int | float):
        return decimal_text(value, ctx.ru)
    return values.display(values.custom_field_type(cf.kind), value)


# --- what a page reads besides its rows -------------------------------------------------------


def _points(db: Any, spec: KindSpec, ids: list[int]) -> dict[str, dict[int, str]]:
    """Phones / e-mails / messengers of a page of records as cells, by point kind and record:
    "+7 916 …; work: +7 495 …" (the first type is the default and is not written)."""
    P = m.ContactPoint
    owner = P.organization if spec.name == "organizations" else P.contact
    query = (P.select(owner, P.kind, P.type, P.value, P.normalized, P.valid)
             .where(owner.in_(_marks(db, ids))).order_by(P.position, P.id))
    # "work: " before a work phone; nothing before the default (first) type.
    prefixes = {kind: {t: _(label) + ": " for t, label in list(choices.items())[1:]}
                for kind, choices in POINT_TYPE_CHOICES.items()}
    out: dict[str, dict[int, str]] = {kind: {} for kind in POINT_TYPE_CHOICES}
    for rid, kind, type_, value, normalized, valid in db.execute_sql(*_with_ids(query, ids)):
        if not value and kind == "phone" and valid and normalized:
            value = format_phone(normalized)
        by_type = prefixes.get(kind)
        if by_type is None:
            continue
        prefix = by_type.get(type_)
        if prefix is not None:
            value = prefix + value
        cells = out[kind]
        # A record has a point or two of a kind: adding to a string beats lists and joins.
        cells[rid] = cells[rid] + "; " + value if rid in cells else value
    return out


def _tags(db: Any, spec: KindSpec, ids: list[int]) -> dict[int, str]:
    query = (m.TagLink.select(m.TagLink.record_id, m.Tag.name).join(m.Tag)
             .where((m.TagLink.kind == spec.name) & m.TagLink.record_id.in_(_marks(db, ids)))
             .order_by(m.Tag.name))
    names: dict[int, list[str]] = {}
    for rid, name in db.execute_sql(*_with_ids(query, ids)):
        names.setdefault(rid, []).append(name)
    return {rid: ", ".join(items) for rid, items in names.items()}


def _custom_texts(db: Any, customs: list[m.CustomField], ids: list[int],
                  ) -> dict[int, dict[int, str]]:
    """Stored custom values of a page of records: field id → record id → text."""
    if not customs:
        return {}
    V = m.CustomValue
    query = V.select(V.field, V.record_id, V.value).where(
        V.field.in_([c.id for c in customs]) & V.record_id.in_(_marks(db, ids)))
    out: dict[int, dict[int, str]] = {}
    for field_id, rid, text in db.execute_sql(*_with_ids(query, ids)):
        out.setdefault(field_id, {})[rid] = text
    return out


def _marks(db: Any, ids: list[int]) -> SQL:
    """`(?, ?, …)` for a page of ids, as literal text: peewee turning 1000 ids into 1000
    parameter nodes cost more than the query. The ids go last in the parameters
    (`_with_ids`), so this IN must be the query's last parameterized part."""
    return SQL("(" + ", ".join([db.param] * len(ids)) + ")")


def _with_ids(query: Any, ids: list[int]) -> tuple[str, list[Any]]:
    sql, params = query.sql()
    return sql, [*params, *ids]
