"""Files (and environment variables) named by a person for whom tui-crm acts through
another OS account.

Through the service account (a forced SSH command, sudo, an admin's --user) tui-crm runs
with that account's file rights: its SSH keys, its .pgpass, the database file itself. A
file a person names there (export to, import from, attach, back up to) would be read or
written as that account, so for such a session (`Actor.on_behalf`) it is refused; so is a
variable of its environment (a mail account's password "in $PGPASSWORD", sent to any
SMTP server the person names). The
program's own temporary folders (`scratch`) are fine: that is how `-o -` sends a file to
the person's side of the connection.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tui_crm.errors import PermissionDenied
from tui_crm.i18n import _
from tui_crm.services.core.rights import Actor

_scratch_folders: set[Path] = set()


@contextmanager
def scratch() -> Iterator[Path]:
    """A private temporary folder of the program's own, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="tui-crm-")).resolve()  # 0700, this account's
    _scratch_folders.add(folder)
    try:
        yield folder
    finally:
        _scratch_folders.discard(folder)
        shutil.rmtree(folder, ignore_errors=True)


def check(actor: Actor, path: str | os.PathLike, *, allowed: Path | None = None) -> None:
    """Refuse a file a person named when the session acts for them through another
    account; `allowed`: a folder of the program's own (the document templates)."""
    if not actor.on_behalf:
        return
    resolved = Path(path).expanduser().resolve()
    folders = set(_scratch_folders) | ({allowed.expanduser().resolve()} if allowed else set())
    if any(resolved.is_relative_to(folder) for folder in folders):
        return
    raise PermissionDenied(
        _("Working through the server's account you cannot read or write files there by"
          " name ({path}); to get a file, ask for it with -o - (it comes to your side of the"
          " connection).").format(path=path))


def check_environment(actor: Actor, name: str) -> None:
    """Refuse a variable of the server account's environment named by a person it acts
    for (see the module's docstring)."""
    if actor.on_behalf:
        raise PermissionDenied(
            _("Working through the server's account you cannot use its environment"
              " variables (${name}); type the password instead.").format(name=name))
