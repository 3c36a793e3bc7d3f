"""Commands on records: add, show, list, edit, delete, restore, find, duplicates, fields,
history."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from tui_crm.cli.output import UsageError, card, emit_json, say, table, warn
from tui_crm.cli.sections import check_fields, parse_assignments, resolve_section
from tui_crm.errors import ValidationError
from tui_crm.i18n import LANGUAGES, _, set_language


def _warn_about_points(view: Any) -> None:
    for point in view.points:
        if point.kind == "phone" and not point.valid:
            warn(_("{value} is not a valid phone number; it was kept as typed").format(
                value=point.value))


def cmd_add(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import records
    from tui_crm.services.duplicates import duplicates

    kind = resolve_section(args.section)
    data = parse_assignments(args.values)
    view = records.create(actor, kind, data)
    _warn_about_points(view)
    for dup in duplicates.find(actor, kind, data, exclude_id=view.id, limit=3):
        warn(_("possible duplicate: {description}").format(description=dup.describe()))
    if args.json:
        emit_json(view.to_dict())
    else:
        say(view.id)
    return 0


def _point_lines(view: Any, point_kind: str) -> str:
    from tui_crm.services.core.kinds import POINT_TYPE_CHOICES

    lines = []
    for p in view.points_of(point_kind):
        label = POINT_TYPE_CHOICES[point_kind].get(p.type, p.type)
        text = f"{p.value} ({_(label)})" if p.type else p.value
        if not p.valid:
            text += " — " + _("not a valid number")
        lines.append(text)
    return "\n".join(lines)


def _record_card(view: Any) -> str:
    from tui_crm.services.core import records, settings
    from tui_crm.services.core.kinds import POINT_TYPES
    from tui_crm.text import dates

    pairs: list[tuple[str, str]] = [(_("ID"), f"{view.id} ({_('version')} {view.version})")]
    for f in records.field_specs(view.kind):
        if f.name in ("primary_phone", "primary_email"):
            continue  # the first of the phones / e-mails listed below
        label = settings.field_label(view.kind, f.name)
        if f.type in POINT_TYPES:
            pairs.append((label, _point_lines(view, POINT_TYPES[f.type])))
        elif f.type == "tags":
            pairs.append((label, ", ".join(view.tags)))
        else:
            text = view.display.get(f.name, "")
            ref_id = view.values.get(f.name)
            if f.type in ("organization", "contact", "deal") and ref_id:
                text = f"{text} (#{ref_id})"
            if f.name == "birthday" and view.values.get("birthday") \
                    and (years := dates.age(view.values["birthday"])) is not None:
                text = _("{date} (age {age})").format(date=text, age=years)
            pairs.append((label, text))
    who = view.created_by or "—"
    if view.created_at:
        pairs.append((_("Created"), f"{dates.format_datetime(view.created_at)} {who}"))
    if view.updated_at and view.updated_at != view.created_at:
        pairs.append((_("Updated"),
                      f"{dates.format_datetime(view.updated_at)} {view.updated_by or '—'}"))
    if view.deleted_at:
        pairs.append((_("In the trash"), _("since {when}").format(
            when=dates.format_datetime(view.deleted_at))))
    return card(pairs)


def cmd_show(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import records

    kind = resolve_section(args.section)
    view = records.get(actor, kind, args.id)
    if args.json:
        emit_json(view.to_dict())
    else:
        say(_record_card(view))
    return 0


def cmd_list(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import records, settings
    from tui_crm.services.core.records import MAX_PAGE, ListQuery

    kind = resolve_section(args.section)
    filters: dict[str, Any] = {}
    for item in args.filter:
        name, sep, value = item.partition("=")
        name = name.strip().casefold()
        if not sep or not name:
            raise UsageError(_("Expected FIELD=VALUE, got {text!r}").format(text=item))
        name = "tags" if name == "tag" else name
        if name in filters:  # the same field twice: any of the values
            previous = filters[name]
            filters[name] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            filters[name] = value
    specs = {f.name: f for f in records.field_specs(kind)}
    unknown = {name: _("Unknown field; see `tui-crm fields {section}`").format(section=kind)
               for name in filters if name not in specs}
    if args.sort and args.sort not in specs and args.sort != "id":
        unknown["sort"] = _("Unknown field {name!r}; see `tui-crm fields {section}`").format(
            name=args.sort, section=kind)
    if unknown:
        raise ValidationError(unknown)
    limit = max(1, min(args.limit, MAX_PAGE))
    page = records.list_records(actor, kind, ListQuery(
        text=args.query, filters=filters, sort=args.sort, descending=args.desc,
        offset=args.offset, limit=limit, trash=args.trash))
    if args.json:
        emit_json({"section": kind, "total": page.total, "offset": page.offset,
                    "limit": limit, "rows": [row.to_dict() for row in page.rows]})
        return 0
    columns = [f for f in records.field_specs(kind) if f.column]
    headers = [_("ID")] + [settings.field_label(kind, f.name) for f in columns]
    right = [0] + [i + 1 for i, f in enumerate(columns) if f.type in ("decimal", "int")]
    rows = [[row.id] + [row.display.get(f.name, "") for f in columns] for row in page.rows]
    if rows:
        say(table(headers, rows, right=right))
    if page.total == 0:  # a word, not "0–0 of 0"
        if args.query or filters:
            say(_("No records match."), err=True)
        elif args.trash:
            say(_("The trash is empty."), err=True)
        else:
            say(_("{section}: no records yet.").format(section=settings.section_name(kind)),
                err=True)
    elif page.total > len(rows) or not rows:
        first = page.offset + 1 if rows else 0
        say(_("{first}–{last} of {total}").format(
            first=first, last=page.offset + len(rows), total=page.total), err=True)
    return 0


def cmd_edit(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import records

    kind = resolve_section(args.section)
    data = parse_assignments(args.values)
    before = records.get(actor, kind, args.id)
    view = records.update(actor, kind, args.id, data, expected_version=args.expected_version)
    _warn_about_points(view)
    if args.json:
        emit_json(view.to_dict())
    elif view.version == before.version:
        say(_("Nothing to change in {what} #{id}.").format(what=_singular(kind), id=view.id))
    else:
        say(_("Saved {what} #{id} (version {version}).").format(
            what=_singular(kind), id=view.id, version=view.version))
    return 0


def _singular(kind: str) -> str:
    from tui_crm.services.core.kinds import KINDS

    return _(KINDS[kind].singular).lower()


def cmd_delete(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import records

    kind = resolve_section(args.section)
    records.delete(actor, kind, args.id)
    if args.json:
        emit_json({"section": kind, "id": args.id, "deleted": True})
    else:
        say(_("Moved {what} #{id} to the trash; `tui-crm restore {section} {id}` brings it "
                "back.").format(what=_singular(kind), id=args.id, section=kind))
    return 0


def cmd_restore(args: argparse.Namespace, actor: Any) -> int:
    if args.id is None:
        # `restore FILE`: restoring a backup lives with the backup commands.
        try:
            from tui_crm.cli import planning as cli_planning
        except ImportError:
            raise UsageError(_("restore needs SECTION and ID")) from None
        args.source = args.section
        return cli_planning.handle_restore(args, actor)
    from tui_crm.services.core import records

    kind = resolve_section(args.section)
    view = records.restore(actor, kind, args.id)
    if args.json:
        emit_json(view.to_dict())
    else:
        say(_("Restored {what} #{id}: {title}").format(what=_singular(kind), id=view.id,
                                                         title=view.title))
    return 0


def cmd_find(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import settings
    from tui_crm.services.search import search

    sections = [resolve_section(s) for s in args.section] or None
    hits = search.quick_search(actor, args.text, sections=sections, limit=max(1, args.limit))
    _print_hits(args, hits, settings.section_name)
    return 0


def find_in_file(args: argparse.Namespace, target: str) -> bool:
    """`find` answered from the SQLite file without the database layer (see quick_find);
    False when only the full path can answer."""
    from tui_crm.services.core.identity import current_invocation

    invocation = current_invocation()
    if args.user or args.section or args.demo or invocation.through_sudo:
        return False  # another identity than the process's own: the full path decides
    from tui_crm.services.search import quick_find

    found = quick_find.find_in_file(target, invocation.login, args.text,
                                    limit=max(1, args.limit))
    if found is None:
        return False
    if not args.lang and not os.environ.get("TUI_CRM_LANG") and found.language in LANGUAGES:
        set_language(found.language)
    _print_hits(args, found.hits, found.section_name)
    return True


def _print_hits(args: argparse.Namespace, hits: list[Any],
                section_name: Callable[[str], str]) -> None:
    if args.json:
        emit_json([hit.to_dict() for hit in hits])
        return
    if not hits:
        say(_("Nothing found."), err=True)
        return
    names: dict[str, str] = {}
    rows = []
    for hit in hits:
        if hit.section not in names:
            names[hit.section] = section_name(hit.section)
        rows.append((names[hit.section], hit.id, hit.title))
    say(table([_("Section"), _("ID"), _("Title")], rows, right=(1,)))


def cmd_duplicates(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.duplicates import duplicates

    kind = resolve_section(args.section)
    if kind not in ("organizations", "contacts"):
        raise ValidationError({"section": _("Duplicates are looked for among organizations and "
                                            "contacts")})
    data = parse_assignments(args.values)
    check_fields(kind, data)
    found = duplicates.find(actor, kind, data)
    if args.json:
        emit_json([d.to_dict() for d in found])
        return 0
    if not found:
        say(_("No duplicates found."), err=True)
        return 0
    say(table([_("ID"), _("Title"), _("Owner"), _("Same"), _("Score")],
                 [("—" if d.id is None else d.id, d.title, d.owner, ", ".join(d.reasons),
                   f"{d.score:.0f}") for d in found], right=(0, 4)))
    return 0


def cmd_fields(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import records, settings

    kind = resolve_section(args.section)
    specs = records.field_specs(kind)
    if args.json:
        emit_json([{"name": f.name, "type": f.type, "label": settings.field_label(kind, f.name),
                     "required": f.required, "editable": f.editable, "custom": f.custom,
                     "choices": list(f.choices)} for f in specs])
        return 0
    rows = []
    for f in specs:
        notes = []
        if f.required:
            notes.append(_("required"))
        if not f.editable:
            notes.append(_("automatic"))
        if f.custom:
            notes.append(_("custom"))
        if f.choices:
            notes.append(_("one of: {choices}").format(choices=", ".join(f.choices)))
        if f.is_repeatable and f.type != "tags":
            notes.append(_("repeatable as {key}=").format(key=f.type[:-1]))
        elif f.type == "tags":
            notes.append(_("repeatable as tag="))
        rows.append((f.name, f.type, settings.field_label(kind, f.name), "; ".join(notes)))
    say(table([_("Field"), _("Type"), _("Label"), _("Notes")], rows))
    return 0


def cmd_history(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import audit, audit_text, records

    kind = resolve_section(args.section)
    records.get(actor, kind, args.id)  # exists, and the actor may see it
    entries = audit.history(kind, args.id, limit=max(1, args.limit))
    if args.json:
        emit_json([{"at": e.at.isoformat() if e.at else None, "login": e.login,
                     "action": e.action, "field": e.field, "old": e.old, "new": e.new,
                     "details": e.details} for e in entries])
        return 0
    rows = [(e.at, e.who, e.action, e.field, e.change if e.field else e.details)
            for e in audit_text.describe(entries)]
    say(table([_("When"), _("Who"), _("Action"), _("Field"), _("Change")], rows))
    return 0
