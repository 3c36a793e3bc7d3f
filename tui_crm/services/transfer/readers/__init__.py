"""Files read as tables for the importer: the kind told by the bytes (files.py), text and
CSV (text.py), HTML tables saved as .xls (html.py), the exports of other programs
(programs.py), the header found and flattened (table.py). vCard files (vcf.py, with the
codec transfer/vcard.py) into the same SourceTable; the column names the importer knows
(aliases.py) find the header row."""

from tui_crm.services.transfer.readers.aliases import header_key
from tui_crm.services.transfer.readers.files import MAX_FILE_BYTES, file_kind, read_table
from tui_crm.services.transfer.readers.programs import recognize
from tui_crm.services.transfer.readers.table import (
    HEADER_SCAN,
    MAX_ROWS,
    ImportFileError,
    SourceTable,
    cell_text,
    with_header,
)
from tui_crm.services.transfer.readers.text import (
    csv_rows,
    decode_text,
    delimiter_name,
    detect_delimiter,
)

__all__ = ["HEADER_SCAN", "MAX_FILE_BYTES", "MAX_ROWS", "ImportFileError", "SourceTable",
           "cell_text", "csv_rows", "decode_text", "delimiter_name", "detect_delimiter",
           "file_kind", "header_key", "read_table", "recognize", "with_header"]
