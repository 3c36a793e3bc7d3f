"""Give the terminal back when the UI is killed or crashes: a SIGTERM or SIGHUP (a closed
SSH session, `kill`) would otherwise end Python at once and leave the terminal in the
alternate screen with mouse reporting on. SIGKILL cannot be caught — nothing can help it."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

# Mouse reporting off (the four modes Textual turns on), bracketed paste off, the Kitty
# keyboard protocol popped, line wrap on, focus events off, main screen, cursor shown.
RESTORE = ("\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[<u\x1b[?7h"
           "\x1b[?1004l\x1b[?1049l\x1b[?25h")
SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                if s is not None)


@contextmanager
def guarded(stream: TextIO | None = None) -> Iterator[None]:
    """Run the UI inside this: on SIGTERM/SIGHUP or an exception the terminal's modes and
    line settings are restored before the process ends."""
    stream = stream or sys.__stderr__
    try:
        fd = stream.fileno() if stream is not None else -1
        is_tty = fd >= 0 and os.isatty(fd)
    except (OSError, ValueError):
        is_tty = False
    if not is_tty:
        yield
        return
    import termios

    try:
        attrs = termios.tcgetattr(fd)
    except termios.error:
        attrs = None

    def restore() -> None:
        try:
            os.write(fd, RESTORE.encode())
            if attrs is not None:
                termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except (OSError, termios.error):
            pass  # the terminal is gone (a dropped SSH session): nothing to give back

    def on_signal(signum: int, _frame: object) -> None:
        # Runs between two bytecodes of the main thread, even inside a busy loop: no
        # clean shutdown is possible from there, but the terminal is put right first.
        restore()
        os._exit(128 + signum)

    previous = {s: signal.signal(s, on_signal) for s in SIGNALS}
    try:
        yield
    except BaseException:
        restore()
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
