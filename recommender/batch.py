"""Score a file of answers, one JSON object per line, into one recommendation per line.

Input and output stay aligned line for line: a bad line gets an error object
(``{"line": 17, "error": {...}}``) in its place and the run goes on. The work
streams: at most a few chunks are in flight, so memory does not grow with the
input. With several workers, each is a process with its own durable-rules
Host (one engine per process; it is not thread-safe); results come back in
input order.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AnswersError, OutputError
from .pipeline import recommend
from .reader import read_answers

#: Lines per task sent to a worker: large enough to hide the inter-process cost.
CHUNK = 200


@dataclass(frozen=True)
class Scored:
    """One output line, and whether its input line was good."""

    line: int
    text: str
    error: str | None  # "field: message" lines for stderr, None when good


_KB: Any = None


def _init(knowledge_dir: str | None, parent: int | None = None) -> None:
    global _KB
    from .knowledge import load_knowledge

    if parent is not None:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited by fork
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        _die_with(parent)
    _KB = load_knowledge(knowledge_dir)


def _die_with(parent: int) -> None:
    """A worker ends when the batch that started it dies, even by SIGKILL (Linux: a
    parent-death signal), instead of waiting forever on a pipe nobody reads."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def score_line(kb: Any, number: int, raw: bytes) -> Scored:
    """One input line to one output line; never raises for bad input."""
    label = f"line {number}"
    try:
        rec = recommend(kb, read_answers(raw, label, kb, json_only=True, what="line"))
    except AnswersError as e:
        problems = e.problems or [{"field": "", "message": str(e).removeprefix(f"{label}: ")}]
        error = {"line": number, "error": {"message": str(e), "problems": problems}}
        return Scored(number, json.dumps(error, ensure_ascii=False), str(e))
    return Scored(number, rec.model_dump_json(), None)


def _score_chunk(chunk: list[tuple[int, bytes]]) -> list[Scored]:
    return [score_line(_KB, n, raw) for n, raw in chunk]


def _chunks(lines: Iterable[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for item in lines:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def score(
    lines: Iterable[tuple[int, bytes]], knowledge_dir: str | None = None, workers: int = 1
) -> Iterator[Scored]:
    """Score numbered input lines in order, in this process or in ``workers`` processes."""
    if workers <= 1:
        _init(knowledge_dir)
        for chunk in _chunks(lines, CHUNK):
            yield from _score_chunk(chunk)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(knowledge_dir, os.getpid()))
    done = False
    try:
        pending: deque[Any] = deque()
        for chunk in _chunks(lines, CHUNK):
            pending.append(pool.submit(_score_chunk, chunk))
            if len(pending) >= 2 * workers:  # a bounded window keeps memory flat
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
        done = True
    finally:
        if not done:  # interrupted (Ctrl-C, SIGTERM, an output error): stop the workers now
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()  # SIGKILL: a worker blocked writing a result cannot delay it
            # A worker killed halfway through sending a result leaves the pool's manager thread
            # waiting for the rest of it for ever (this process holds the pipe's other end too,
            # though it never writes there): closing that end makes the wait end.
            results = getattr(pool, "_result_queue", None)
            if results is not None:
                results._writer.close()
        # wait even when interrupted: the workers are dead, and a manager thread still closing its
        # pipes while the interpreter exits prints a traceback (a race in concurrent.futures)
        pool.shutdown(wait=True, cancel_futures=not done)


def numbered(stream: Iterable[bytes], progress: Any = None) -> Iterator[tuple[int, bytes]]:
    """Input lines with their numbers (from 1), advancing ``progress`` (a click progress bar)
    by the bytes read. A blank line is a line too (an error), so that output line N always
    answers input line N."""
    for number, raw in enumerate(stream, 1):
        if progress is not None:
            progress.update(len(raw))
        yield number, raw


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def open_input(path: str) -> Any:
    """The input as a binary stream; a clear error when it cannot be read at all."""
    if path == "-":
        return sys.stdin.buffer
    p = Path(path)
    if p.is_dir():
        raise AnswersError(f"{path}: is a directory, not a JSON-lines file")
    try:
        return p.open("rb")
    except FileNotFoundError:
        raise AnswersError(f"{path}: no such file") from None
    except OSError as e:
        raise AnswersError(f"{path}: cannot read: {e.strerror}") from None


def run(
    input_path: str,
    out: Any,
    knowledge_dir: str | None,
    workers: int,
    report: Any,
    progress: Any = None,
    out_label: str = "<stdout>",
) -> int:
    """Score ``input_path`` (``-`` for stdin) line by line into ``out``; each bad line is
    passed to ``report`` as ``IN:N: field: message``. Returns how many lines were bad."""
    stream = open_input(input_path)
    label = "<stdin>" if input_path == "-" else input_path
    bad = 0
    try:
        for scored in score(numbered(stream, progress), knowledge_dir, workers):
            _write(out, scored.text + "\n", out_label)
            if scored.error is not None:
                bad += 1
                for line in scored.error.splitlines():
                    report(f"{label}:{scored.line}: {line.split(': ', 1)[1]}")
        _write(out, None, out_label)
    finally:
        if input_path != "-":
            stream.close()
    return bad


def _write(out: Any, text: str | None, label: str) -> None:
    """Write (or, with None, flush) the output; a failure is an ``OutputError`` (exit 2)."""
    try:
        if text is None:
            out.flush()
        else:
            out.write(text)
    except OSError as e:
        raise OutputError(f"{label}: cannot write: {e.strerror or e}") from None
