"""The printable sheet as a PDF, laid out in a worker process.

WeasyPrint's native libraries keep about 200 kB per PDF that Python cannot
give back, so a server that made PDFs in its own process grew without end.
Here they are made in one worker process that is replaced after
``RENDERS_PER_WORKER`` PDFs, so the leak cannot pile up. Workers come from a
fork server that has already imported the renderer and WeasyPrint (and done
their one-time library look-up), so a fresh worker's first PDF is as fast as
any other; ``warm_up`` starts it all before the first visitor asks.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from ..render import render

if TYPE_CHECKING:
    from ..recommendation import Recommendation

#: PDFs one worker makes before it is replaced by a fresh one.
RENDERS_PER_WORKER = 25

_POOL: ProcessPoolExecutor | None = None
_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["recommender.render", "weasyprint"])
            _POOL = ProcessPoolExecutor(
                1, mp_context=context, max_tasks_per_child=RENDERS_PER_WORKER, initializer=_ignore_ctrl_c
            )
        return _POOL


def _ignore_ctrl_c() -> None:
    """In the worker: Ctrl-C reaches the whole terminal's process group, but the server stops
    its worker itself (``shutdown``), so the worker does not die printing a traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pdf(rec: Recommendation) -> bytes:
    data = render(rec, "pdf")
    assert isinstance(data, bytes)
    return data


def _nothing() -> None:
    return None


async def pdf(rec: Recommendation) -> bytes:
    """The sheet as PDF bytes, made in the worker process."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), _pdf, rec)


def warm_up() -> None:
    """Start the fork server and a worker now, so the first PDF is not the slow one."""
    _pool().submit(_nothing).result()


def shutdown() -> None:
    """Stop the worker (at the app's shutdown and at exit)."""
    global _POOL
    with _LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=True, cancel_futures=True)
            _POOL = None


def release_temporary_folder() -> None:
    """Remove the fork server's socket folder (``pymp-*`` in the temporary folder) now.

    multiprocessing removes it in its exit handler, but a ``serve --workers N`` worker
    process is ended by SIGTERM's default action, which runs no exit handler. Only for a
    process that is about to end: it runs multiprocessing's own exit steps."""
    from multiprocessing import util

    util._exit_function()  # type: ignore[attr-defined]  # the steps of a normal exit: finalizers, children


atexit.register(shutdown)
