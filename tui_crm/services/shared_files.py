"""Checks of a shared database's file modes and groups, reported with the fix at start-up.

A team on one server shares the file through a setgid group folder (mode 2770) with the
database and its -wal/-shm files 0660 in that group; anything else fails later for one of
the users, often in a confusing way, so it is reported before anything is opened.
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from tui_crm.i18n import _


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def problems(db_path: str | os.PathLike) -> list[str]:
    """One line per problem with its fix; empty when the set-up is fine or not shared.

    The folder counts as shared when it is setgid or group-writable (and not writable by
    everyone, like /tmp, which no team set-up uses)."""
    path = Path(db_path)
    folder = path.parent
    try:
        fst = folder.stat()
    except OSError:
        return []
    shared = bool(fst.st_mode & stat.S_ISGID) or bool(fst.st_mode & stat.S_IWGRP)
    if not shared or fst.st_mode & stat.S_IWOTH:
        return []  # a private folder, or one like /tmp that is open to everyone
    found: list[str] = []
    group = _group_name(fst.st_gid)
    if not fst.st_mode & stat.S_ISGID:
        found.append(_("The folder {folder} is shared but not setgid, so new files get the"
                       " creator's group; fix: chmod 2770 {folder}").format(folder=folder))
    elif (fst.st_mode & 0o070) != 0o070:
        found.append(_("The group cannot use the folder {folder}; fix: chmod 2770 {folder}")
                     .format(folder=folder))
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = candidate.stat()
        except OSError:
            continue
        if st.st_gid != fst.st_gid:
            found.append(_("{file} belongs to group {actual}, not {group}; fix: chgrp {group}"
                           " {file}").format(file=candidate, actual=_group_name(st.st_gid),
                                              group=group))
        if (st.st_mode & 0o060) != 0o060:
            found.append(_("{file} is not writable by the group; fix: chmod 660 {file}")
                         .format(file=candidate))
    return found
