"""Importing organizations and contacts from .xlsx, .xlsb, .xls, .ods, .csv, HTML and vCard
files.

The path of a file through here: `read_table` (format told by the bytes, not the name;
CSV encoding and delimiter detected; the header row found even under a title) →
`auto_mapping` (columns → fields from Russian / English headers and the Google and
Outlook export formats) → `analyze` (every row validated and normalized in Python, per-row
problems, duplicates against the database and inside the file) → `run_import` (one
transaction: bulk inserts through the driver, the search index for the new ids, one audit
entry and an import log that `undo_import` uses). A failure, a cancel or Ctrl-C inside the
transaction leaves the database as it was. `import_file` (the CLI's path) takes a big file
part after part instead (`stream_import`: each part analysed, then written on the
write-behind thread while the next is analysed) when no row can change an earlier one.

Duplicate detection for large files never queries per row: the existing normalized phones,
e-mails, tax ids and names are read once into dictionaries; close (fuzzy) names are only
compared for files of fewer than FUZZY_ROWS rows.

The modules: readers/ (files → tables), aliases.py and mapping.py (columns → fields),
rows.py (cells → values), matching.py (the duplicate rule against the base and the file),
plan.py (what happens to each row), writing.py (one transaction, the result), undo.py.
"""

from tui_crm.services.transfer.importing.mapping import (
    IMPORT_KINDS,
    auto_mapping,
    parse_map_options,
    targets,
)
from tui_crm.services.transfer.importing.matching import contact_key
from tui_crm.services.transfer.importing.plan import (
    FUZZY_ROWS,
    POLICIES,
    ImportCancelled,
    ImportOptions,
    ImportPlan,
    Progress,
    RowProblem,
    analyze,
)
from tui_crm.services.transfer.importing.rows import Pending, PreparedRow
from tui_crm.services.transfer.importing.undo import (
    UNDO_CHUNK,
    ImportInfo,
    UndoResult,
    list_imports,
    undo_import,
)
from tui_crm.services.transfer.importing.writing import (
    OUTCOMES,
    ImportResult,
    RowOutcome,
    import_file,
    outcomes,
    run_import,
)
from tui_crm.services.transfer.readers import (
    HEADER_SCAN,
    MAX_FILE_BYTES,
    MAX_ROWS,
    ImportFileError,
    SourceTable,
    cell_text,
    csv_rows,
    decode_text,
    delimiter_name,
    detect_delimiter,
    file_kind,
    header_key,
    read_table,
    recognize,
)
from tui_crm.services.transfer.readers.aliases import (
    ALIASES,
    CONTACT_PERSON,
    DISPLAY_NAME,
    FULL_NAME,
    IN_NOTES,
    NOTES_LABELLED,
    Target,
)

__all__ = [
    "ALIASES", "CONTACT_PERSON", "DISPLAY_NAME", "FULL_NAME", "FUZZY_ROWS",
    "HEADER_SCAN", "IMPORT_KINDS", "IN_NOTES", "MAX_FILE_BYTES", "MAX_ROWS", "NOTES_LABELLED",
    "OUTCOMES", "POLICIES", "UNDO_CHUNK", "ImportCancelled", "ImportFileError", "ImportInfo",
    "ImportOptions", "ImportPlan", "ImportResult", "Pending", "PreparedRow", "Progress",
    "RowOutcome", "RowProblem", "SourceTable", "Target", "UndoResult", "analyze",
    "auto_mapping", "cell_text", "contact_key", "csv_rows", "decode_text", "delimiter_name",
    "detect_delimiter", "file_kind", "header_key", "import_file", "list_imports", "outcomes",
    "parse_map_options", "read_table", "recognize", "run_import", "targets", "undo_import",
]
