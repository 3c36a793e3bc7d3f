"""What a person who comes in through the service account may not choose: the database and
the user (see README, "A team on one office server").

- A forced SSH command `tui-crm --db DB --user LOGIN --ssh-command` pins both and runs the
  command the client asked for (SSH_ORIGINAL_COMMAND), which may not name another
  database or user; without one it opens the UI.
- Under sudo run by another account (not root), the database is the one the service's
  wrapper sets in TUI_CRM_DB (sudo has reset the environment, so the person cannot set
  it); a --db or --demo on the command line is refused.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from tui_crm.errors import PermissionDenied
from tui_crm.i18n import _

SSH_COMMAND = "--ssh-command"
PINNED = ("--db", "--user", "--demo", SSH_COMMAND)  # a person's words may not carry these


def _names_pinned(word: str) -> bool:
    """True for --db, --user, --demo (with =VALUE too) and any abbreviation argparse would
    take for them (`--us anna`)."""
    if not word.startswith("--") or word == "--":
        return False
    name = word.split("=", 1)[0]
    return any(option.startswith(name) for option in PINNED) and len(name) > 2


def expand(argv: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The command line to run: `argv` itself, or for a forced SSH command with
    --ssh-command its pinned options followed by the client's command."""
    if SSH_COMMAND not in argv:
        return argv
    from tui_crm.cli.output import UsageError

    env = os.environ if environ is None else environ
    pinned = [word for word in argv if word != SSH_COMMAND]
    if "--user" not in pinned and not any(w.startswith("--user=") for w in pinned):
        # Without a pinned user the key would act as the service account, an admin.
        raise UsageError(_("--ssh-command needs --user LOGIN in the forced command: the person"
                       " whose key it is."))
    try:
        words = shlex.split(env.get("SSH_ORIGINAL_COMMAND", ""))
    except ValueError as exc:
        raise UsageError(_("Cannot read the command: {reason}").format(reason=exc)) from None
    if words and Path(words[0]).name in ("tui-crm", "tui_crm"):
        words = words[1:]  # `ssh crm@server tui-crm list …` as well as `… list …`
    for word in words:
        if _names_pinned(word):
            raise PermissionDenied(
                _("{option} is fixed by the server for your key; leave it out.").format(
                    option=word.split("=", 1)[0]))
    return pinned + words


def refuse_choice_under_sudo(db_given: bool, demo: bool, through_sudo: bool) -> None:
    """Under sudo from another account the service's wrapper chooses the database."""
    if through_sudo and (db_given or demo):
        raise PermissionDenied(
            _("Through sudo the database is the one the server's wrapper sets"
              " (TUI_CRM_DB); --db and --demo are not yours to choose."))
