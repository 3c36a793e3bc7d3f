"""Process-wide settings, made once at process start-up by the entry points (the command
line's `main`, the benchmarks) — never from a worker thread while another thread runs —
and handing freed memory back to the system (the UI, when it rests)."""

from __future__ import annotations

import gc
from typing import Any

# An import or a mailing builds millions of small tuples, lists and dicts that all stay
# alive; with the default thresholds (700, 10, 10) the cyclic collector walks them again and
# again and finds nothing to free (~15 % of an import's CPU time). Young collections 14×
# rarer recover most of that and stay short (a few ms), so a keystroke never waits on one.
COLLECTOR_THRESHOLDS = (10_000, 10, 10)


def tune_collector() -> None:
    """Set the cyclic collector's thresholds for this process (start-up only)."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def return_freed_memory() -> bool:
    """Hand the heap's free pages back to the system (glibc's `malloc_trim`); False where
    there is no such call (macOS, musl). Memory Python and SQLite free in worker threads
    stays in glibc's per-thread arenas: a report computed once would otherwise keep the
    process ~100 MB larger for the rest of the session. Takes a few ms; call when idle."""
    global _trim
    if _trim is None:
        try:
            import ctypes

            _trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _trim = False
    if _trim is False:
        return False
    _trim(0)
    return True


_trim: Any = None  # glibc's malloc_trim once looked up, False where it is missing
