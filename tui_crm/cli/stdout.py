"""`-o -`: the file a command writes (export, report, plan, document) goes to stdout.

It is how a person working through the server's account gets a file to their side of the
connection (`ssh crm@server export organizations --format csv -o - > clients.csv`): the
command writes into a private temporary folder of the program's own, which is copied to
stdout and removed. The command's own message then goes to stderr.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, overload

STDOUT = "-"


def wanted(output: str | None) -> bool:
    return output == STDOUT


def messages_aside(output: str | None) -> contextlib.AbstractContextManager[Any]:
    """Within it, print() goes to stderr when the file went to stdout."""
    return contextlib.redirect_stdout(sys.stderr) if wanted(output) else contextlib.nullcontext()


def shown(output: str | None, written: Any) -> str:
    """Where the file went, for the command's message."""
    from tui_crm.i18n import _

    return _("stdout") if wanted(output) else str(written)


@overload
def output_path(output: str, suffix: str) -> contextlib.AbstractContextManager[str]: ...
@overload
def output_path(output: str | None, suffix: str
                ) -> contextlib.AbstractContextManager[str | None]: ...
def output_path(output: str | None, suffix: str
                ) -> contextlib.AbstractContextManager[str | None]:
    """The path to write: `output` itself, or for `-` a temporary file whose bytes are
    sent to stdout when the block ends without an error."""
    return _output_path(output, suffix)


@contextmanager
def _output_path(output: str | None, suffix: str) -> Iterator[str | None]:
    if not wanted(output):
        yield output
        return
    from tui_crm.services.core import server_files

    with server_files.scratch() as folder:
        path = folder / f"tui-crm{suffix}"
        yield str(path)
        sys.stdout.flush()
        with open(path, "rb") as written:
            shutil.copyfileobj(written, sys.stdout.buffer)
        sys.stdout.buffer.flush()
