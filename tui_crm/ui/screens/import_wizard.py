"""The import wizard: file → columns → preview → import → done (with Undo).

Reading and analysing a file and the import itself run in thread workers (a 100k-row
file takes seconds); progress comes back through `call_from_thread`. The import is one
transaction in the service, so Cancel or a crash leaves the base unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    ContentSwitcher,
    DataTable,
    DirectoryTree,
    Input,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    Select,
    Static,
)

from tui_crm.db.database import current
from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import server_files, settings
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import importing
from tui_crm.services.transfer.importing import (
    ImportOptions,
    ImportPlan,
    ImportResult,
    SourceTable,
)
from tui_crm.ui.widgets import PlainTable, translate_bindings
from tui_crm.ui.workers import forgets_worker

SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".htm", ".html",
            ".vcf", ".vcard"}
ENCODINGS = ["utf-8", "utf-8-sig", "cp1251", "koi8-r", "cp866", "utf-16", "latin-1"]
DELIMITERS = [";", ",", "\t", "|"]
PREVIEW_ROWS = 100
POLICIES = {"skip": N_("Skip duplicates"), "merge": N_("Merge into the existing record"),
            "create": N_("Create anyway")}
# Rows that only share a name with a client (namesakes are common): the user decides.
POSSIBLE = {"create": N_("Possible duplicates (same name only): create"),
            "skip": N_("Possible duplicates: skip"),
            "merge": N_("Possible duplicates: merge")}
LISTED_ROWS = 2000  # rows besides the first PREVIEW_ROWS that the preview lists (not created)


class SpreadsheetTree(DirectoryTree):
    """Folders and the files the importer reads."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")
                and (p.is_dir() or p.suffix.lower() in SUFFIXES)]


class ImportWizard(ModalScreen[ImportResult | None]):
    """Import organizations or contacts from a file; dismisses with the ImportResult
    (None when closed before importing or after Undo)."""

    DEFAULT_CSS = """
    ImportWizard { align: center middle; }
    ImportWizard > #wizard {
        width: 100%; max-width: 120; height: 100%; max-height: 46;
        border: round $primary; background: $panel; padding: 0 1;
    }
    ImportWizard #wizard-title { text-style: bold; margin-bottom: 1; }
    ImportWizard ContentSwitcher { height: 1fr; }
    ImportWizard ContentSwitcher > Vertical { height: 1fr; }
    ImportWizard #file-tree { height: 1fr; border: round $secondary; }
    ImportWizard .buttons { height: auto; margin-top: 1; }
    ImportWizard .buttons Button { margin-right: 2; }
    ImportWizard .error { color: $text-error; height: auto; }
    ImportWizard #csv-options { height: auto; }
    ImportWizard #csv-options Select { width: 24; margin-right: 2; }
    ImportWizard #csv-options.-hidden { display: none; }
    ImportWizard #mapping { height: 1fr; }
    ImportWizard .map-row { height: auto; }
    ImportWizard .map-source { width: 1fr; padding-top: 1; }
    ImportWizard .map-row Select { width: 40; }
    ImportWizard #preview-table { height: 1fr; }
    ImportWizard #policy { height: auto; }
    ImportWizard #possible { height: auto; }
    ImportWizard #done-problems { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="import_wizard.close"),
    ]

    def __init__(self, actor: Actor, kind: str = "organizations", *,
                 path: str | Path | None = None, folder: str | Path | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.actor = actor
        self.kind = kind
        self.start_path = str(path) if path else ""
        self.folder = Path(folder).expanduser() if folder else Path.home()
        self.table: SourceTable | None = None
        self.labels: dict[str, str] = {}  # target key → label, from the last file read
        self.plan: ImportPlan | None = None
        self.result: ImportResult | None = None
        self.cancel = threading.Event()
        self.busy = False

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="wizard"):
            yield Label(_("Import into {section}").format(
                section=settings.section_name(self.kind)), id="wizard-title", markup=False)
            with ContentSwitcher(initial="step-file"):
                with Vertical(id="step-file"):
                    yield Label(_("Choose a .xlsx, .xlsb, .xls, .ods, .csv or .vcf file:"))
                    if self.app.is_web:
                        # A browser cannot hand this process a file of the person's computer.
                        yield Label(_("In a browser this reads a file on the server, at a "
                                      "path the server's account may read; to import a file "
                                      "of your computer, run `tui-crm import` there."),
                                    markup=False)
                    yield SpreadsheetTree(str(self.folder), id="file-tree")
                    yield Input(value=self.start_path, placeholder=_("Path to the file"),
                                id="file-path")
                    yield Static("", id="file-error", classes="error", markup=False)
                    with Horizontal(classes="buttons"):
                        yield Button(_("Next"), id="file-next", variant="primary")
                        yield Button(_("Cancel"), id="file-cancel")
                with Vertical(id="step-map"):
                    yield Label("", id="source-info", markup=False)
                    with Horizontal(id="csv-options"):
                        yield Select([(e, e) for e in ENCODINGS], id="encoding",
                                     allow_blank=False, value="utf-8")
                        yield Select([(importing.delimiter_name(d), d) for d in DELIMITERS],
                                     id="delimiter", allow_blank=False, value=";")
                    yield Label(_("Where each column goes:"))
                    yield VerticalScroll(id="mapping")
                    yield Static("", id="map-error", classes="error", markup=False)
                    with Horizontal(classes="buttons"):
                        yield Button(_("Back"), id="map-back")
                        yield Button(_("Preview"), id="map-next", variant="primary")
                with Vertical(id="step-preview"):
                    yield Label("", id="preview-summary", markup=False)
                    yield PlainTable(id="preview-table", zebra_stripes=True)
                    with RadioSet(id="policy"):
                        for code, label in POLICIES.items():
                            yield RadioButton(_(label), value=code == "skip", id=f"policy-{code}")
                    with RadioSet(id="possible"):
                        for code, label in POSSIBLE.items():
                            yield RadioButton(_(label), value=code == "create",
                                              id=f"possible-{code}")
                    with Horizontal(classes="buttons"):
                        yield Button(_("Back"), id="preview-back")
                        yield Button(_("Import"), id="preview-import", variant="success")
                with Vertical(id="step-progress"):
                    yield Label(_("Importing…"), id="progress-label")
                    yield ProgressBar(id="progress", show_eta=False)
                    with Horizontal(classes="buttons"):
                        yield Button(_("Cancel"), id="progress-cancel", variant="error")
                with Vertical(id="step-done"):
                    yield Label("", id="done-summary", markup=False)
                    yield Static("", id="done-problems", markup=False)
                    with Horizontal(classes="buttons"):
                        yield Button(_("Close"), id="done-close", variant="primary")
                        yield Button(_("Undo the import"), id="done-undo", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#file-path", Input).focus()

    def show(self, step: str) -> None:
        self.query_one(ContentSwitcher).current = step

    @property
    def step(self) -> str:
        return self.query_one(ContentSwitcher).current or ""

    # --- step 1: the file ---------------------------------------------------------------------

    @on(DirectoryTree.FileSelected)
    def _file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#file-path", Input).value = str(event.path)
        self.read_file()

    @on(Input.Submitted, "#file-path")
    @on(Button.Pressed, "#file-next")
    def read_file(self) -> None:
        path = self.query_one("#file-path", Input).value.strip()
        if not path:
            self.query_one("#file-error", Static).update(_("Choose a file first."))
            return
        self.query_one("#file-error", Static).update(_("Reading…"))
        self._read(path, None, None)

    @work(thread=True, exclusive=True, group="import-read", exit_on_error=False)
    @forgets_worker
    def _read(self, path: str, encoding: str | None, delimiter: str | None) -> None:
        try:
            with current().connection_context():
                server_files.check(self.actor, path)
                table = importing.read_table(path, encoding=encoding, delimiter=delimiter)
                mapping = importing.auto_mapping(self.kind, table.headers)
                targets = importing.targets(self.kind)
        except CrmError as exc:
            self.app.call_from_thread(self._read_failed, str(exc))
            return
        except OSError as exc:
            self.app.call_from_thread(self._read_failed, str(exc.strerror or exc))
            return
        self.app.call_from_thread(self._show_mapping, table, mapping, targets)

    def _read_failed(self, message: str) -> None:
        target = "#map-error" if self.step == "step-map" else "#file-error"
        self.query_one(target, Static).update(message)

    # --- step 2: the columns ------------------------------------------------------------------

    def _show_mapping(self, table: SourceTable, mapping: dict[int, str],
                      targets: list[importing.Target]) -> None:
        self.table = table
        self.labels = {t.key: t.label for t in targets}
        self.query_one("#file-error", Static).update("")
        self.query_one("#map-error", Static).update("")
        info = [_("{name}: {rows} rows, header on row {row}").format(
            name=table.path.name, rows=len(table.rows), row=table.first_row - 1)] + table.notes
        self.query_one("#source-info", Label).update(" · ".join(info[:4]))
        options = self.query_one("#csv-options")
        options.set_class(table.format != "csv", "-hidden")
        if table.format == "csv":
            encoding = self.query_one("#encoding", Select)
            if table.encoding not in ENCODINGS:
                encoding.set_options([(e, e) for e in [table.encoding, *ENCODINGS]])
            with encoding.prevent(Select.Changed):
                encoding.value = table.encoding
            delimiter = self.query_one("#delimiter", Select)
            with delimiter.prevent(Select.Changed):
                delimiter.value = table.delimiter
        box = self.query_one("#mapping", VerticalScroll)
        box.remove_children()
        choices = [(_("(skip)"), "")] + [(t.label, t.key) for t in targets]
        rows = []
        for index, header in enumerate(table.headers):
            samples = ", ".join(table.samples(index))
            text = f"{header}" + (f"  [{samples[:40]}]" if samples else "")
            own = choices
            if mapping.get(index, "").startswith(importing.NOTES_LABELLED):
                # A column with no field of its own, kept in the notes under its header.
                own = [*choices, (_("Notes, as “{header}: …”").format(header=header),
                                  mapping[index])]
            rows.append(Horizontal(
                Label(text, classes="map-source", markup=False),
                Select(own, value=mapping.get(index, ""), allow_blank=False,
                       id=f"map-{index}"),
                classes="map-row"))
        box.mount_all(rows)
        self.show("step-map")

    @on(Select.Changed, "#encoding")
    @on(Select.Changed, "#delimiter")
    def _reread(self) -> None:
        if self.table is None or self.table.format != "csv":
            return
        encoding = self.query_one("#encoding", Select).value
        delimiter = self.query_one("#delimiter", Select).value
        self._read(str(self.table.path), str(encoding), str(delimiter))

    def mapping(self) -> dict[int, str]:
        result = {}
        for select in self.query("#mapping Select").results(Select):
            index = int(str(select.id).removeprefix("map-"))
            if select.value not in (Select.NULL, ""):
                result[index] = str(select.value)
        return result

    @on(Button.Pressed, "#map-back")
    def _back_to_file(self) -> None:
        self.show("step-file")

    @on(Button.Pressed, "#map-next")
    def analyse(self) -> None:
        if self.table is None:
            return
        self.query_one("#map-error", Static).update(_("Checking every row…"))
        self._analyse(self.table, self.mapping(), self.policy())

    def policy(self) -> str:
        pressed = self.query_one("#policy", RadioSet).pressed_button
        return str(pressed.id).removeprefix("policy-") if pressed else "skip"

    def possible(self) -> str:
        pressed = self.query_one("#possible", RadioSet).pressed_button
        return str(pressed.id).removeprefix("possible-") if pressed else "create"

    def _apply_policies(self) -> None:
        if self.plan is not None:
            self.plan.options.on_duplicate = self.policy()
            self.plan.options.on_possible = self.possible()

    @work(thread=True, exclusive=True, group="import-analyse", exit_on_error=False)
    @forgets_worker
    def _analyse(self, table: SourceTable, mapping: dict[int, str], policy: str) -> None:
        options = ImportOptions(kind=self.kind, mapping=mapping, on_duplicate=policy,
                                on_possible=self.possible())
        try:
            with current().connection_context():
                plan = importing.analyze(self.actor, table, options)
        except CrmError as exc:
            self.app.call_from_thread(self._read_failed, str(exc))
            return
        self.app.call_from_thread(self._show_preview, plan)

    # --- step 3: the preview ------------------------------------------------------------------

    def _show_preview(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.query_one("#map-error", Static).update("")
        self._summarize()
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        targets = [t for _i, t in sorted(plan.mapping.items()) if t]
        columns = list(dict.fromkeys(t.split(":", 1)[0] for t in targets))
        table.add_column(_("Row"), key="row")
        for name in columns:
            table.add_column(self.labels.get(name, name), key=name)
        table.add_column(_("Outcome"), key="outcome")
        table.add_column(_("Problems"), key="problems")
        self._fill_outcomes()
        self.show("step-preview")
        table.focus()

    def _fill_outcomes(self) -> None:
        """The first rows, then every row that will not simply become a new record, with
        what happens to it and why (nothing is dropped unsaid)."""
        plan = self.plan
        if plan is None:
            return
        table = self.query_one("#preview-table", DataTable)
        table.clear()
        columns = [str(c.value) for c in table.columns][1:-2]
        listed = 0
        for position, prepared in enumerate(plan.rows):
            outcome, reason = plan.outcome(prepared)
            if position >= PREVIEW_ROWS and outcome == "created" and not reason:
                continue
            if position >= PREVIEW_ROWS:
                listed += 1
                if listed > LISTED_ROWS:
                    break
            cells: list[Any] = [str(prepared.row)]
            for name in columns:
                cells.append(_short(_show_value(prepared.values.get(name))))
            cells.append(_short(" — ".join(p for p in (_(importing.OUTCOMES[outcome]), reason)
                                           if p), 60))
            cells.append(_short("; ".join(prepared.problems), 80))
            table.add_row(*cells, key=str(prepared.row))

    def _summarize(self) -> None:
        if self.plan is None:
            return
        self._apply_policies()
        counts = self.plan.counts()
        text = _("{rows} rows: {created} to create, {merged} to merge, {skipped} to skip,"
                 " {errors} with errors; duplicates: {in_base} in the base, {in_file} in the"
                 " file; {warnings} warnings").format(
            rows=counts["rows"], created=counts["created"], merged=counts["merged"],
            skipped=counts["skipped"], errors=counts["errors"],
            in_base=counts["duplicates_in_base"], in_file=counts["duplicates_in_file"],
            warnings=counts["warnings"])
        if counts["possible_duplicates"]:
            text += "\n" + _("{count} rows only share a name with a client or an earlier row"
                             " (possible duplicates): choose below").format(
                count=counts["possible_duplicates"])
        ignored = self.plan.ignored_columns()
        if ignored:
            text += "\n" + _("Ignored columns: {names}").format(names=", ".join(ignored))
        self.query_one("#preview-summary", Label).update(text)

    @on(RadioSet.Changed, "#policy")
    @on(RadioSet.Changed, "#possible")
    def _policy_changed(self) -> None:
        self._summarize()
        self._fill_outcomes()

    @on(Button.Pressed, "#preview-back")
    def _back_to_mapping(self) -> None:
        self.show("step-map")

    # --- step 4: importing --------------------------------------------------------------------

    @on(Button.Pressed, "#preview-import")
    def start_import(self) -> None:
        if self.plan is None or self.busy:
            return
        self._apply_policies()
        self.cancel.clear()
        self.busy = True
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(1, len(self.plan.rows)), progress=0)
        self.show("step-progress")
        self._import(self.plan)

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#progress", ProgressBar).update(total=max(1, total), progress=done)

    @work(thread=True, exclusive=True, group="import-run", exit_on_error=False)
    @forgets_worker
    def _import(self, plan: ImportPlan) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, done, total)

        try:
            with current().connection_context():
                result = importing.run_import(self.actor, plan, progress=progress,
                                              cancel=self.cancel)
        except CrmError as exc:
            self.app.call_from_thread(self._import_failed, str(exc))
            return
        self.app.call_from_thread(self._show_done, result)

    @on(Button.Pressed, "#progress-cancel")
    def _cancel_import(self) -> None:
        self.cancel.set()

    def _import_failed(self, message: str) -> None:
        self.busy = False
        self.query_one("#preview-summary", Label).update(message)
        self.show("step-preview")

    # --- step 5: done -------------------------------------------------------------------------

    def _show_done(self, result: ImportResult) -> None:
        self.busy = False
        self.result = result
        self.query_one("#done-summary", Label).update(
            _("Import #{id}: {summary}").format(id=result.import_id, summary=result.summary()))
        lines = [_("row {row}: {outcome}: {reason}").format(
            row=o.row, outcome=_(importing.OUTCOMES[o.outcome]), reason=o.reason)
            for o in result.not_created()[:200]]
        lines += [_("row {row}: {message}").format(row=p.row, message=p.message)
                  for p in result.warnings[:50]]
        if result.new_lookups:
            lines.append(result.created_lookups())
        self.query_one("#done-problems", Static).update("\n".join(lines))
        self.show("step-done")
        self.query_one("#done-close", Button).focus()

    @on(Button.Pressed, "#done-undo")
    def undo(self) -> None:
        if self.result is None or self.result.import_id is None:
            return
        self._undo(self.result.import_id)

    @work(thread=True, exclusive=True, group="import-undo", exit_on_error=False)
    @forgets_worker
    def _undo(self, import_id: int) -> None:
        try:
            with current().connection_context():
                undone = importing.undo_import(self.actor, import_id)
        except CrmError as exc:
            self.app.call_from_thread(self._undone, str(exc), False)
            return
        self.app.call_from_thread(self._undone, undone.summary(), True)

    def _undone(self, message: str, ok: bool) -> None:
        self.query_one("#done-summary", Label).update(message)
        if ok:
            self.result = None
            self.query_one("#done-undo", Button).disabled = True

    # --- closing ------------------------------------------------------------------------------

    @on(Button.Pressed, "#file-cancel")
    @on(Button.Pressed, "#done-close")
    def action_close(self) -> None:
        if self.busy:
            self.cancel.set()  # the worker rolls back and comes back to the preview
            return
        self.dismiss(self.result)


def _show_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, importing.Pending):
        return _("{name} (new)").format(name=value.name)
    if isinstance(value, list):
        return ", ".join(v[1] if isinstance(v, tuple) else str(v) for v in value)
    return importing.cell_text(value)


def _short(text: str, width: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
