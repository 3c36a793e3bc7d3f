"""Process-wide settings, made once at process start-up by the entry points (the command
line's `main`, the benchmarks) — never from a worker thread while another thread runs."""

from __future__ import annotations

import gc

# An import or a mailing builds millions of small tuples, lists and dicts that all stay
# alive; with the default thresholds (700, 10, 10) the cyclic collector walks them again and
# again and finds nothing to free (~15 % of an import's CPU time). Young collections 14×
# rarer recover most of that and stay short (a few ms), so a keystroke never waits on one.
COLLECTOR_THRESHOLDS = (10_000, 10, 10)


def tune_collector() -> None:
    """Set the cyclic collector's thresholds for this process (start-up only)."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
