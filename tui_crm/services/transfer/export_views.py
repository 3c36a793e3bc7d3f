"""What an export reads: the columns (the fields as the table labels them) and the records a
query matches, as views with phones, e-mails and tags, in the table's order. Every writer
(the tables of exporting, vCard, iCalendar) reads through here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import records, settings
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES, FieldSpec
from tui_crm.services.core.records import ListQuery, RecordView
from tui_crm.services.core.rights import Actor

PAGE = 1000
# Fields a table shows that say nothing new next to the full lists of phones and e-mails.
_SKIPPED = {"primary_phone", "primary_email"}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str
    spec: FieldSpec


def columns(kind: str, names: list[str] | None = None) -> list[Column]:
    """The columns of an export: the given fields, or every field of the kind."""
    specs = records.field_specs(kind)
    by_name = {f.name: f for f in specs}
    if names:
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValidationError({"columns": _("Unknown field {name!r}; see `tui-crm fields"
                                                " {section}`").format(name=unknown[0],
                                                                      section=kind)})
        chosen = [by_name[n] for n in names]
    else:
        chosen = [f for f in specs if f.name not in _SKIPPED]
    return [Column(f.name, f.label if f.custom else settings.field_label(kind, f.name), f.type, f)
            for f in chosen]


def iter_views(actor: Actor, kind: str, query: ListQuery | None = None,
               progress: Progress | None = None) -> Iterator[RecordView]:
    """Every record the query matches, in the table's order, with phones, e-mails and tags.

    The ids come from `records.row_ids` (the table's own filter, sort and visibility) in
    one query; the records are then read by id in pages. Paging the table with OFFSET
    re-sorts the whole result for every page (30 s for 100k rows; this takes a few).
    """
    spec = records.kind_spec(kind)
    ids = records.row_ids(actor, kind, query or ListQuery())
    total = len(ids)
    for start in range(0, total, PAGE):
        chunk = ids[start:start + PAGE]
        rows = {r.id: r for r in spec.model.select().where(spec.model.id.in_(chunk))}
        ordered = [rows[i] for i in chunk if i in rows]
        # records builds the views (names of references, points, tags, custom values) in
        # a few queries per page; it has no public batch form yet.
        yield from records.cards_of(actor, kind, ordered)
        if progress is not None:
            progress(min(start + PAGE, total), total)


def points_text(points: list[records.PointView], point_kind: str) -> str:
    """Phones / e-mails as one cell: "+7 916 …; work: +7 495 …" (the first type is the
    default and is not written), readable and read back by the importer."""
    choices = POINT_TYPE_CHOICES[point_kind]
    default = next(iter(choices))
    parts = []
    for p in points:
        if p.kind != point_kind:
            continue
        if p.type and p.type != default and p.type in choices:
            parts.append(f"{_(choices[p.type])}: {p.value}")
        else:
            parts.append(p.value)
    return "; ".join(parts)
