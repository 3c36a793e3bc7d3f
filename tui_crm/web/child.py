"""The UI process of one browser session: `python -m tui_crm.web.child HANDOVER`.

Started by the server (textual-serve's web driver on stdin/stdout) after a login; the
person it acts as comes only from the one-time hand-over file (see sessions.take_handover),
and then, as for `--user`, only if this OS account may act for them (an admin of the
database, or that person's own account).
"""

from __future__ import annotations

import sys

from tui_crm.errors import CrmError


def main(argv: list[str]) -> int:
    from tui_crm.i18n import detect_language, set_language

    set_language(detect_language())
    if len(argv) != 1:
        print("tui-crm: usage: python -m tui_crm.web.child HANDOVER", file=sys.stderr)
        return 2
    from tui_crm.web.sessions import take_handover

    try:
        login, target = take_handover(argv[0])
    except CrmError as exc:
        print(f"tui-crm: {exc}", file=sys.stderr)
        return exc.exit_code
    from tui_crm.ui.app import run_app

    return run_app(target, user=login)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
