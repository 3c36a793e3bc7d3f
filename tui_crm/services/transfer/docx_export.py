"""A table as a Word document to print: A4 landscape, 9 pt, the columns that fit.

A table of every field (24 columns of 0.9 cm at 8 pt on US Letter) cannot be read on
paper. Here the columns empty in every row are left out; the others keep their order and
get the width their text needs (the header's longest word, most cells' length, at most
`MAX_CHARS` characters); as many as fit across the page are columns, and the rest of a
row's fields go, as "Field: value" lines, into one last column ("Other fields"), wrapped.
The header row repeats on every page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_crm.i18n import _

FONT_PT = 9
PAGE_CM = (29.7, 21.0)  # A4, landscape
MARGIN_CM = 1.5
CHAR_CM = 0.19  # the mean width of a 9 pt character, Cyrillic and Latin
PAD_CM = 0.3  # a cell's inner margins
MIN_CM = 1.6
MAX_CHARS = 40
REST_CM = 7.0  # the "Other fields" column, when there is one
SAMPLE = 500  # rows looked at to size the columns


def usable_cm() -> float:
    return PAGE_CM[0] - 2 * MARGIN_CM


def _needed_cm(header: str, cells: list[str]) -> float:
    """The width a column wants: its header's longest word, the length most cells stay
    within (the 90th percentile, so one long note does not take the page), capped."""
    lengths = sorted(max((len(line) for line in c.splitlines()), default=0) for c in cells)
    typical = lengths[int(len(lengths) * 0.9)] if lengths else 0
    word = max((len(w) for w in header.split()), default=0)
    chars = min(max(word, typical), MAX_CHARS)
    return max(chars * CHAR_CM + PAD_CM, MIN_CM)


def layout(header: list[str], rows: list[list[str]]) -> tuple[list[int], list[int], list[float]]:
    """(the columns shown, the columns moved into "Other fields", the widths in cm of the
    shown columns and, when some were moved, of that last column)."""
    used = [i for i in range(len(header)) if any(r[i] for r in rows)] or list(range(len(header)))
    sample = rows[:SAMPLE]
    wanted = {i: _needed_cm(header[i], [r[i] for r in sample]) for i in used}
    room = usable_cm()
    if sum(wanted.values()) <= room:
        shown, rest = used, []
    else:
        shown, total = [], 0.0
        for i in used:
            if total + wanted[i] > room - REST_CM:
                break
            shown.append(i)
            total += wanted[i]
        rest = [i for i in used if i not in shown]
    widths = [wanted[i] for i in shown] + ([REST_CM] if rest else [])
    scale = room / sum(widths)  # fill the page's width
    return shown, rest, [w * scale for w in widths]


def write(path: Path, header: list[str], rows: list[list[Any]], title: str) -> int:
    """The rows as a Word table; returns the rows written."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    texts = [[_clean(v) for v in row] for row in rows]
    shown, rest, widths = layout(header, texts)
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(MARGIN_CM))
    normal = document.styles["Normal"]
    normal.font.size = Pt(FONT_PT)
    normal.paragraph_format.space_after = Pt(0)
    document.add_heading(_clean(title), level=1)
    heads = [header[i] for i in shown] + ([_("Other fields")] if rest else [])
    table = document.add_table(rows=1, cols=len(heads))
    table.style = "Table Grid"
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
    first = table.rows[0]
    repeat = OxmlElement("w:tblHeader")  # the header row again on every page
    repeat.set(qn("w:val"), "true")
    first._tr.get_or_add_trPr().append(repeat)
    for cell, text, width in zip(first.cells, heads, widths, strict=True):
        cell.width = Cm(width)
        run = cell.paragraphs[0].add_run(_clean(text))
        run.bold = True
        run.font.size = Pt(FONT_PT)
    for row in texts:
        values = [row[i] for i in shown]
        if rest:
            values.append("\n".join(f"{header[i]}: {row[i]}" for i in rest if row[i]))
        for cell, text, width in zip(table.add_row().cells, values, widths, strict=True):
            cell.width = Cm(width)
            if text:
                cell.paragraphs[0].add_run(text).font.size = Pt(FONT_PT)
    document.save(str(path))
    return len(rows)


def _clean(value: Any) -> str:
    """Cell text Word's XML can hold (control characters other than line breaks dropped)."""
    text = "" if value is None else str(value)
    return "".join(ch for ch in text if ch in "\n\t" or ch >= " ")
