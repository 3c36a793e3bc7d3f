"""Files the UI makes (exports, documents): in a terminal they are written where the person
said; in a browser (`tui-crm serve`) they are made in a private scratch folder and sent to
the browser as a download, never left on the server's disk under a name typed in a page."""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from textual.app import App

from tui_crm.services.core import server_files

T = TypeVar("T")


def in_browser(app: App) -> bool:
    return bool(app.is_web)


def make_file(app: App, wanted: str, write: Callable[[str], T]) -> tuple[T, str]:
    """Run `write(path)`; (its result, where the file went: the path, or in a browser its
    name). In a browser only the name of `wanted` counts."""
    if not in_browser(app):
        return write(wanted), wanted
    name = Path(wanted).name or "export"
    with server_files.scratch() as folder:
        result = write(str(folder / name))
        data = (folder / name).read_bytes()
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    app.deliver_binary(io.BytesIO(data), save_filename=name, mime_type=mime)
    return result, name
