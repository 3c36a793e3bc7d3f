"""Command-line subcommands for getting data in and out: import, import-undo, export,
time-zone, document, dedupe, merge."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tui_crm.cli import stdout as cli_stdout
from tui_crm.cli.output import emit_json, progress_line, say
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core.rights import Actor


def _print(args: argparse.Namespace, data: Any, text: str) -> int:
    with cli_stdout.messages_aside(getattr(args, "output", None)):
        if getattr(args, "json", False):
            emit_json(data)
        else:
            say(text)
    return 0


def _section(name: str) -> str:
    from tui_crm.cli.sections import resolve_section

    return resolve_section(name)


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValidationError({what: _("Expected FIELD=VALUE, got {text!r}").format(
                text=item)})
        key, value = item.split("=", 1)
        result[key.strip()] = value.strip()
    return result


class _Bar:
    """A one-line progress bar on stderr (only on a terminal, never with --json)."""

    def __init__(self, args: argparse.Namespace, label: str) -> None:
        self.on = sys.stderr.isatty() and not getattr(args, "json", False)
        self.label = label
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.on:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        width = 30
        filled = int(width * done / total) if total else width
        progress_line(f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
                      done=done >= total)


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add import, import-undo, export, document, dedupe and merge."""
    _import_commands(subparsers, common)
    _export_commands(subparsers, common)
    _duplicate_commands(subparsers, common)


def _import_commands(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """import and import-undo."""
    p = subparsers.add_parser(
        "import", parents=[common],
        help=_("import organizations or contacts from .xlsx, .xls, .ods, .csv or .vcf"))
    p.add_argument("file", help=_("the file to import"))
    p.add_argument("--into", default="organizations",
                   help=_("organizations (default), contacts, payments, services or deals"))
    p.add_argument("--map", action="append", metavar="COLUMN=FIELD", default=[],
                   help=_("map a column (its header or number) to a field; FIELD '-' skips"
                          " the column"))
    p.add_argument("--on-duplicate", choices=("skip", "merge", "create"), default="skip",
                   help=_("what to do with a row that matches an existing record"))
    p.add_argument("--skip-name-matches", action="store_true",
                   help=_("skip rows that only share a name with a client (possible"
                          " duplicates; created and listed by default)"))
    p.add_argument("--encoding", help=_("the CSV file's encoding (detected by default)"))
    p.add_argument("--delimiter", help=_("the CSV delimiter (detected by default)"))
    p.add_argument("--sheet", help=_("the spreadsheet's sheet (the first with data)"))
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", default=[],
                   help=_("a value for rows that have none (e.g. source=Выставка)"))
    p.add_argument("--no-create", action="store_true",
                   help=_("do not create missing sources, groups and organizations"))
    p.add_argument("--dry-run", action="store_true", help=_("check the file, write nothing"))
    p.set_defaults(handler=handle_import)

    p = subparsers.add_parser("import-undo", parents=[common],
                              help=_("undo a whole import (without an id: list imports)"))
    p.add_argument("import_id", nargs="?", type=int, help=_("the import's number"))
    p.set_defaults(handler=handle_import_undo)


def _export_commands(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """export, time-zone (the calendar exports' zone) and document."""
    p = subparsers.add_parser("export", parents=[common],
                              help=_("export a section as filtered to a file"))
    p.add_argument("section", help=_("organizations, contacts, events, …"))
    p.add_argument("-o", "--output", required=True, help=_("the file to write"))
    p.add_argument("--format", choices=("xlsx", "csv", "ods", "html", "txt", "docx", "vcf",
                                        "ics"),
                   help=_("the format (by default told by the file name)"))
    p.add_argument("--query", default="", help=_("the search text, as in the table's filter"))
    p.add_argument("--filter", action="append", metavar="FIELD=VALUE", default=[],
                   help=_("only records with this value (repeatable)"))
    p.add_argument("--sort", default="", help=_("the field to sort by"))
    p.add_argument("--desc", action="store_true", help=_("sort descending"))
    p.add_argument("--fields", help=_("the columns, comma-separated (default: all)"))
    p.add_argument("--delimiter", help=_("CSV delimiter (default ; in Russian, , in English)"))
    p.add_argument("--encoding", help=_("the CSV file's encoding: utf-8 (with a BOM, the"
                                        " default) or cp1251 (for old Excel and 1C)"))
    p.add_argument("--vcard-version", choices=("2.1", "3.0", "4.0"), default="3.0",
                   help=_("vCard version (default 3.0)"))
    p.add_argument("--time-zone", help=_("the .ics file's time zone (default: the company's,"
                                         " see `tui-crm time-zone`)"))
    p.set_defaults(handler=handle_export)

    p = subparsers.add_parser("time-zone", parents=[common],
                              help=_("show or set the company's time zone (calendar exports)"))
    p.add_argument("name", nargs="?", help=_("an IANA name such as Europe/Moscow; \"-\" goes"
                                             " back to the server's zone"))
    p.set_defaults(handler=handle_time_zone)

    p = subparsers.add_parser("document", parents=[common],
                              help=_("fill a .docx template from a card (no arguments: list"
                                     " templates)"))
    p.add_argument("template", nargs="?", help=_("a template name or .docx file"))
    p.add_argument("section", nargs="?", help=_("organizations, contacts or deals"))
    p.add_argument("id", nargs="?", type=int, help=_("the record's id"))
    p.add_argument("-o", "--output", help=_("the .docx file to write"))
    p.set_defaults(handler=handle_document)


def _duplicate_commands(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """dedupe and merge."""
    p = subparsers.add_parser("dedupe", parents=[common],
                              help=_("find likely duplicates in the whole base"))
    p.add_argument("--section", help=_("organizations or contacts (default both)"))
    p.add_argument("--limit", type=int, default=200, help=_("at most this many pairs"))
    p.set_defaults(handler=handle_dedupe)

    p = subparsers.add_parser("merge", parents=[common],
                              help=_("merge a duplicate into the record kept"))
    p.add_argument("section", help=_("organizations or contacts"))
    p.add_argument("keep_id", type=int, help=_("the record that stays"))
    p.add_argument("other_id", type=int, help=_("the record merged into it (to the trash)"))
    p.add_argument("--take", action="append", metavar="FIELD=keep|other|both", default=[],
                   help=_("which record's value a field keeps"))
    p.add_argument("--dry-run", action="store_true",
                   help=_("show the fields side by side, change nothing"))
    p.set_defaults(handler=handle_merge)

def handle_import(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.transfer import importing

    kind = _section(args.into)
    if kind in ("payments", "services", "deals"):
        from tui_crm.services.transfer import money_import

        money = money_import.import_money(actor, args.file, kind, map_pairs=args.map,
                                          dry_run=args.dry_run, encoding=args.encoding,
                                          delimiter=args.delimiter, sheet=args.sheet)
        text = money.summary()
        if money.dry_run:
            text = _("Dry run: nothing was written.") + "\n" + text
        return _print(args, money.to_dict(), text)
    options = importing.ImportOptions(kind=kind, on_duplicate=args.on_duplicate,
                                      on_possible="skip" if args.skip_name_matches
                                      else "create",
                                      defaults=_pairs(args.set, "set"),
                                      create_missing=not args.no_create)
    result = importing.import_file(
        actor, args.file, options, encoding=args.encoding, delimiter=args.delimiter,
        sheet=args.sheet, map_pairs=args.map, dry_run=args.dry_run,
        progress=_Bar(args, _("Importing")))
    return _print(args, result.to_dict(), "\n".join(import_report(result)))


SHOWN_ROWS = 200  # rows listed in the text output; --json lists every one


def import_report(result: Any) -> list[str]:
    """The text report of an import: what was read, which column went where, the columns
    ignored, and every row that did not simply become a new record, with its reason."""
    from tui_crm.services.transfer import importing
    from tui_crm.services.transfer.importing import OUTCOMES

    lines: list[str] = []
    if result.dry_run:
        lines.append(_("Dry run: nothing was written."))
    lines.extend(result.notes)
    # Each field by its key (what --map takes) and its label in the user's language; a
    # vCard's columns are named by field keys, shown by their labels.
    labels = {t.key: t.label for kind in importing.IMPORT_KINDS for t in importing.targets(kind)}
    own = {t.key: t.label for t in importing.targets(result.kind)}
    labels.update(own)

    def target_text(key: str) -> str:
        base, _colon, sub = key.partition(":")
        if key in labels:
            return f"{key} ({labels[key]})"
        if sub and base in labels:  # kept in the notes under the column's header
            return f"{key} ({labels[base]}: {sub})"
        return key

    lines.append(_("Columns:"))
    lines.extend(f"  {labels.get(header, header)} → {target_text(target)}"
                 for header, target in result.mapping.items())
    if result.ignored_columns:
        lines.append(_("Ignored columns: {names}").format(
            names=", ".join(labels.get(h, h) for h in result.ignored_columns)))
    lines.append(result.summary())
    if result.import_id is not None:
        lines.append(_("Import #{id}; undo it with `tui-crm import-undo {id}`.").format(
            id=result.import_id))
    if result.new_lookups:
        lines.append(result.created_lookups())
    listed = result.not_created()
    for item in listed[:SHOWN_ROWS]:
        lines.append(_("row {row}: {outcome}: {reason}").format(
            row=item.row, outcome=_(OUTCOMES[item.outcome]), reason=item.reason))
    if len(listed) > SHOWN_ROWS:
        lines.append(_("… and {count} more rows (see --json)").format(
            count=len(listed) - SHOWN_ROWS))
    if result.warnings:
        lines.append(_("{count} values were not imported or look wrong, e.g.:").format(
            count=len(result.warnings)))
        for problem in result.warnings[:10]:
            lines.append("  " + _("row {row}: {message}").format(row=problem.row,
                                                                 message=problem.message))
    return lines


def handle_import_undo(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.transfer import importing

    if args.import_id is None:
        infos = importing.list_imports(actor)
        text = "\n".join(
            f"#{i.id}  {i.at:%d.%m.%Y %H:%M}  {i.login}  {i.kind}  {Path(i.file).name}  "
            + _("{created} created, {merged} merged").format(created=i.created, merged=i.merged)
            + ("  " + _("(undone)") if i.undone else "") for i in infos) or _("No imports yet.")
        return _print(args, [i.to_dict() for i in infos], text)
    result = importing.undo_import(actor, args.import_id)
    return _print(args, result.to_dict(), result.summary())


def handle_export(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.core.records import ListQuery
    from tui_crm.services.transfer import exporting

    kind = _section(args.section)
    query = ListQuery(text=args.query, filters=_pairs(args.filter, "filter"), sort=args.sort,
                      descending=args.desc)
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    if cli_stdout.wanted(args.output) and not args.format:
        raise ValidationError({"format": _("With -o - say the format: --format csv, xlsx, …")})
    fmt = exporting.format_of(args.output, args.format)
    with cli_stdout.output_path(args.output, f".{fmt}") as output:
        result = exporting.export(actor, kind, output, fmt, query=query, fields=fields,
                                  delimiter=args.delimiter, progress=_Bar(args, _("Exporting")),
                                  vcard_version=args.vcard_version, encoding=args.encoding,
                                  time_zone=args.time_zone)
    text = _("{count} records written to {path}").format(
        count=result.rows, path=cli_stdout.shown(args.output, result.path))
    text = "\n".join([text, *(_("Warning: {message}").format(message=w)
                              for w in result.warnings)])
    return _print(args, result.to_dict(), text)


def handle_time_zone(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.core import settings

    if args.name:
        settings.set_time_zone(actor, "" if args.name == "-" else args.name)
    name = settings.time_zone_name()
    server = settings.server_time_zone()
    text = _("The company's time zone: {name}").format(name=name)
    if name == server and not settings.get_value(settings.TIME_ZONE_KEY, ""):
        text += " " + _("(the server's)")
    return _print(args, {"time_zone": name, "server_time_zone": server}, text)


def handle_document(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.transfer import documents

    if not args.template:
        templates = documents.list_templates()
        text = "\n".join(p.stem for p in templates) + "\n" + _("Folder: {path}").format(
            path=documents.templates_dir())
        return _print(args, {"folder": str(documents.templates_dir()),
                             "templates": [str(p) for p in templates]}, text)
    if not args.section or args.id is None:
        raise ValidationError({"id": _("Give the template, the section and the record's id:"
                                       " tui-crm document contract organizations 12 -o"
                                       " contract.docx")})
    kind = _section(args.section)
    template = documents.find_template(args.template)
    output = args.output or str(documents.default_output(template, kind, args.id))
    with cli_stdout.output_path(output, ".docx") as target:
        path = documents.render(actor, template, kind, args.id, Path(target))
    return _print(args, {"file": cli_stdout.shown(output, path), "template": str(template)},
                  _("Written {path}").format(path=cli_stdout.shown(output, path)))


def handle_dedupe(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.duplicates import merging

    kind = _section(args.section) if args.section else None
    pairs = merging.scan(actor, kind, limit=args.limit)
    lines = [f"{p.kind}  {p.describe()}" for p in pairs]
    lines.append(_("{count} likely duplicates; merge one with `tui-crm merge SECTION KEEP_ID"
                   " OTHER_ID`.").format(count=len(pairs)))
    return _print(args, [p.to_dict() for p in pairs], "\n".join(lines))


def handle_merge(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.duplicates import merging

    kind = _section(args.section)
    choices = _pairs(args.take, "take")
    if args.dry_run:
        fields = merging.compare(actor, kind, args.keep_id, args.other_id)
        for name, choice in choices.items():
            for f in fields:
                if f.name == name:
                    f.choice = choice
        width = max((len(f.label) for f in fields), default=10)
        lines = [f"{'*' if not f.same else ' '} {f.label.ljust(width)}  "
                 f"{f.keep_text[:30]:30}  {f.other_text[:30]:30}  → {f.choice}"
                 for f in fields if f.keep_text or f.other_text]
        data = [{"field": f.name, "label": f.label, "keep": f.keep_text, "other": f.other_text,
                 "choice": f.choice} for f in fields]
        return _print(args, data, "\n".join(lines))
    result = merging.merge(actor, kind, args.keep_id, args.other_id, choices)
    moved = ", ".join(f"{k}: {v}" for k, v in result.moved.items()) or _("nothing")
    text = _("#{other} merged into #{keep} {title}; moved: {moved}. #{other} is in the"
             " trash.").format(other=args.other_id, keep=args.keep_id, title=result.record.title,
                               moved=moved)
    return _print(args, result.to_dict(), text)
