"""Reading a file a person names, to keep its bytes in the database (a mail attachment).

A file is read only if it is a regular file (not a folder, a device, or a FIFO that would
block) of at most `limit` bytes, and never through a symbolic link: a link could be put in
a file's place later to make someone else's program read what its author could not.
Whose rights decide: by default the process's own (it runs as the person saving, so the
kernel refuses what they cannot read); with `readers`, the account of each person who chose
the file, for a program reading it on their behalf (a schema upgrade run by an admin): the
path is then walked folder by folder without following any link, and every reader must be
able to enter each folder and read the file by its mode bits.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tui_crm.i18n import N_, _

# Why a file was not read: a code (kept with an attachment that could not be taken in) and
# the one-line message shown for it.
PROBLEMS = {
    "missing": N_("No such file: {path}"),
    "symlink": N_("{path} is a symbolic link, not the file itself"),
    "not_regular": N_("{path} is not a regular file"),
    "too_large": N_("{path} is larger than 20 MB"),
    "unreadable": N_("No permission to read {path}"),
    "not_allowed": N_("{login}, who chose {path}, may not read it"),
    "no_account": N_("{login}, who chose {path}, has no account on this computer"),
    "no_author": N_("nobody is known to have chosen {path}"),
}


class FileProblem(Exception):
    """The file cannot be taken; `code` is a key of PROBLEMS."""

    def __init__(self, code: str, path: str | os.PathLike, login: str = "") -> None:
        self.code = code
        self.path = str(path)
        self.login = login
        super().__init__(self.message())

    def message(self) -> str:
        return problem_text(self.code, self.path, self.login)


def problem_text(code: str, path: str, login: str = "") -> str:
    return _(PROBLEMS.get(code, PROBLEMS["unreadable"])).format(path=path, login=login)


@dataclass(frozen=True)
class Account:
    """An OS account whose rights a read is checked against."""

    login: str
    uid: int
    gids: frozenset[int]

    @classmethod
    def of(cls, login: str) -> Account:
        try:
            entry = pwd.getpwnam(login)
        except KeyError:
            raise FileProblem("no_account", "", login) from None
        return cls(login, entry.pw_uid,
                   frozenset({entry.pw_gid, *os.getgrouplist(login, entry.pw_gid)}))

    def may(self, st: os.stat_result, bit: int) -> bool:
        """Whether the mode bits give this account `bit` (4 read, 1 enter a folder)."""
        if self.uid == 0:
            return True
        if st.st_uid == self.uid:
            return bool((st.st_mode >> 6) & bit)
        if st.st_gid in self.gids:
            return bool((st.st_mode >> 3) & bit)
        return bool(st.st_mode & bit)


_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _problem_of(exc: OSError, path: str, *, link_possible: bool) -> FileProblem:
    if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and link_possible):
        return FileProblem("symlink", path)
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return FileProblem("missing", path)
    return FileProblem("unreadable", path)  # EACCES, EPERM, an I/O error


def _walk_open(path: Path, readers: Sequence[Account]) -> int:
    """Open `path` (absolute) one component at a time, following no link, checking that
    every reader may enter each folder."""
    parts = path.parts
    fd = os.open(parts[0], _FOLDER)
    try:
        for part in parts[1:-1]:
            _check(readers, os.fstat(fd), 1, str(path))
            try:
                inner = os.open(part, _FOLDER, dir_fd=fd)
            except OSError as exc:
                try:
                    link = stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode)
                except OSError:
                    link = False
                raise _problem_of(exc, str(path), link_possible=link) from None
            os.close(fd)
            fd = inner
        _check(readers, os.fstat(fd), 1, str(path))
        try:
            return os.open(parts[-1], _OPEN, dir_fd=fd)
        except OSError as exc:
            raise _problem_of(exc, str(path), link_possible=False) from None
    finally:
        os.close(fd)


def _check(readers: Sequence[Account], st: os.stat_result, bit: int, path: str) -> None:
    for reader in readers:
        if not reader.may(st, bit):
            raise FileProblem("not_allowed", path, reader.login)


def read_file(path: str | os.PathLike, *, limit: int, readers: Sequence[Account] = ()
              ) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, never read through a link;
    FileProblem otherwise (see the module docstring for `readers`)."""
    shown = str(path)
    if readers:
        fd = _walk_open(Path(os.path.abspath(path)), readers)
    else:
        try:
            fd = os.open(Path(path).expanduser(), _OPEN)
        except OSError as exc:
            raise _problem_of(exc, shown, link_possible=False) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem("not_regular", shown)
        if st.st_size > limit:
            raise FileProblem("too_large", shown)
        _check(readers, st, 4, shown)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise FileProblem("too_large", shown)
        return b"".join(chunks)
    except OSError as exc:
        raise _problem_of(exc, shown, link_possible=False) from None
    finally:
        os.close(fd)
