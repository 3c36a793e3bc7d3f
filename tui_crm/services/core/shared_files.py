"""Checks of a server database's folder and file modes, reported with the fix at start-up.

Two set-ups (README, "A team on one office server"):
- the service account (recommended): one account owns the database folder (mode 0700)
  and people come in through a forced SSH command or sudo. Anyone else who can enter
  that folder can open the file directly, around every right, so a session run for a
  person (`Actor.on_behalf`) reports such a folder;
- a trusted team (rights advisory): members share the file through a setgid group folder
  (mode 2770) with the database and its -wal/-shm files 0660 in that group; anything else
  fails later for one of the users, often in a confusing way.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

from tui_crm.i18n import _


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _other_members(gid: int, owner: int) -> list[str]:
    """Accounts in group `gid` (as a supplementary or their primary group) besides `owner`."""
    try:
        names = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        names = set()
    names |= {p.pw_name for p in pwd.getpwall() if p.pw_gid == gid}
    try:
        names.discard(pwd.getpwuid(owner).pw_name)
    except KeyError:
        pass
    return sorted(names)


def problems(db_path: str | os.PathLike, *, service_account: bool = False) -> list[str]:
    """One line per problem with its fix; empty when the set-up is fine.

    The folder counts as a team's shared folder when it is setgid or group-writable (and
    not writable by everyone, like /tmp, which no set-up uses). `service_account`: this
    session acts for a person through the account running it, so nobody else may be able
    to enter the folder."""
    path = Path(db_path)
    folder = path.parent
    try:
        fst = folder.stat()
    except OSError:
        return []
    found: list[str] = []
    if service_account:
        found += _reachable_by_others(folder, fst)
    shared = bool(fst.st_mode & stat.S_ISGID) or bool(fst.st_mode & stat.S_IWGRP)
    if not shared or fst.st_mode & stat.S_IWOTH:
        return found  # a private folder, or one like /tmp that is open to everyone
    found += _team_folder_problems(path, folder, fst)
    return found


def _reachable_by_others(folder: Path, fst: os.stat_result) -> list[str]:
    """The service account's folder: every account that can enter it can open the database
    with sqlite3, around every right. A setgid team folder is the trusted-team set-up,
    whose group is meant to share the file."""
    if fst.st_mode & stat.S_IXOTH:  # x is what lets an account open a file inside
        return [_("Every account on this machine can enter {folder} and open the database"
                  " around tui-crm's rights; fix: chmod 700 {folder}").format(folder=folder)]
    if fst.st_mode & stat.S_IXGRP and not fst.st_mode & stat.S_ISGID:
        members = _other_members(fst.st_gid, fst.st_uid)
        if members:
            return [_("The group {group} ({members}) can enter {folder} and open the database"
                      " around tui-crm's rights; fix: chmod 700 {folder}").format(
                group=_group_name(fst.st_gid), members=", ".join(members), folder=folder)]
    return []


def _team_folder_problems(path: Path, folder: Path, fst: os.stat_result) -> list[str]:
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
