"""Where the UI's database work runs: the one query thread (one long-lived SQLite
connection with a warm page cache, queries in order), thread workers that do not keep
their results alive, and handing memory back when the UI rests. The UI never queries the
database itself: every call here is a service call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial, wraps
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


def forgets_worker(fn: Callable[P, T]) -> Callable[P, T]:
    """For the function of a thread worker (`@work(thread=True)` or `run_worker(...,
    thread=True)`): Textual marks the running worker in the pool thread's own context, which
    lives as long as the thread, so each pool thread kept its last worker — and the
    worker's result (a row index of a million ids, a whole segmentation) — alive for the
    rest of the session. The mark is cleared on the way out."""
    from textual.worker import active_worker

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            # None: "no worker", as `get_current_worker` answers outside a worker's run.
            active_worker.set(None)  # type: ignore[arg-type]

    return run


_executor: ThreadPoolExecutor | None = None


def _query_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(1, thread_name_prefix="tui-crm-query")
    return _executor


def start_in_query_thread(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Start a service call on the one query thread now; its result is the future's.

    One long-lived thread keeps one SQLite connection open (peewee connections are per
    thread), so its page cache stays warm: a new thread per keystroke would start every
    query on a cold cache. Queries run one at a time, in order. Called from the event
    loop's thread.
    """
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(_query_executor(), partial(fn, *args))


async def in_query_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run a service call on the query thread (`start_in_query_thread`) and await it."""
    return await start_in_query_thread(fn, *args)


def release_query_connection() -> None:
    """Close the query thread's connection (the app is closing or the database changes)."""
    if _executor is None:
        return

    def close() -> None:
        from tui_crm.db.models import database_proxy

        db = database_proxy.obj
        if db is not None and not db.is_closed():
            db.close()

    _executor.submit(close).result()


def shrink_connections() -> None:
    """Free the SQLite page caches of the UI thread's and the query thread's connections
    (the UI rests; up to 32 MB each). The query thread does it in turn, between queries."""
    from tui_crm.db.backend import backend
    from tui_crm.db.models import database_proxy

    if database_proxy.obj is None:
        return
    from tui_crm.process import return_freed_memory

    def shrink() -> None:
        backend().shrink_memory()
        return_freed_memory()

    shrink()
    if _executor is not None:
        _executor.submit(shrink)
