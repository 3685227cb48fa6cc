"""Score a file of answers, one JSON object per line, into one recommendation per line.

Input and output stay aligned line for line: a bad line gets an error object
(``{"line": 17, "error": {...}}``) in its place and the run goes on. The work
streams: at most a few chunks are in flight, so memory does not grow with the
input. With several workers, each is a process with its own durable-rules
Host (one engine per process; it is not thread-safe) that writes its chunk's
output lines to a file of its own; the parent copies the files into the
output in input order (cheaper than sending the text back through a pipe).
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
from .render import json_line

#: Lines per task sent to a worker. Small, because the workers end one chunk apart at
#: most (the last one runs alone: with 200 lines that was a tenth of a 2,000-line run);
#: a task's own cost (a file, two messages) is a fraction of a millisecond.
CHUNK = 25

#: Chunks in flight per worker: results are taken in input order, so a few more than
#: the workers hold keep one slow chunk from leaving the other workers without work.
AHEAD = 4


@dataclass(frozen=True)
class Scored:
    """One output line, and whether its input line was good."""

    line: int
    text: str
    error: str | None  # "field: message" lines for stderr, None when good


@dataclass(frozen=True)
class Written:
    """A chunk's output lines, in a file a worker wrote, and its bad lines."""

    path: str
    bad: list[tuple[int, str]]  # (line, "field: message" lines) for each bad line


_KB: Any = None


def _init(knowledge_dir: str | None, parent: int | None = None, forked: bool = False) -> None:
    """Load the knowledge base; in a worker (``parent``), also its signals. A ``forked``
    worker keeps the knowledge base its parent loaded before the fork."""
    global _KB
    from .knowledge import load_knowledge

    if parent is not None:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited by fork
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        _die_with(parent)
    if not forked:
        _KB = load_knowledge(knowledge_dir)
    import gc

    gc.freeze()  # the knowledge base lives as long as the worker: the collector need not walk it


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
    return Scored(number, json_line(rec), None)


def _score_chunk(chunk: list[tuple[int, bytes]]) -> list[Scored]:
    return [score_line(_KB, n, raw) for n, raw in chunk]


def _score_chunk_to(chunk: list[tuple[int, bytes]], path: str) -> Written:
    """In a worker: score a chunk into ``path``; only the bad lines' messages go back."""
    bad = []
    with open(path, "w", encoding="utf-8") as fh:
        for n, raw in chunk:
            scored = score_line(_KB, n, raw)
            fh.write(scored.text + "\n")
            if scored.error is not None:
                bad.append((n, scored.error))
    return Written(path, bad)


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
) -> Iterator[Scored | Written]:
    """Score numbered input lines in order: in this process, line by line (``Scored``), or
    in ``workers`` processes, chunk by chunk (``Written``: the caller copies the file in,
    then removes it)."""
    _remove_stale_folders()
    if workers <= 1:
        _init(knowledge_dir)
        for chunk in _chunks(lines, CHUNK):
            yield from _score_chunk(chunk)
        return
    import multiprocessing
    import shutil
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    folder = tempfile.mkdtemp(prefix=f"{_FOLDER}{os.getpid()}.")
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    forked = method == "fork"
    if forked:
        _init(knowledge_dir)  # once, here: each worker starts with it
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(knowledge_dir, os.getpid(), forked))
    done = False
    try:
        pending: deque[Any] = deque()
        for i, chunk in enumerate(_chunks(lines, CHUNK)):
            pending.append(pool.submit(_score_chunk_to, chunk, os.path.join(folder, f"{i}.jsonl")))
            if len(pending) >= AHEAD * workers:  # a bounded window keeps memory (and the folder) small
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
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
        shutil.rmtree(folder, ignore_errors=True)


#: The prefix of the folder the workers of one run write their chunks to (with the run's pid).
_FOLDER = "stretchwise-batch."


def _remove_stale_folders() -> None:
    """Chunk folders a killed run left behind: their process is gone (SIGKILL skips cleanup)."""
    import shutil
    import tempfile

    for p in Path(tempfile.gettempdir()).glob(f"{_FOLDER}*"):
        pid = p.name[len(_FOLDER):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # gone (someone else's live process raises PermissionError)
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


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
            if isinstance(scored, Written):
                _copy(scored.path, out, out_label)
                errors = scored.bad
            else:
                _write(out, scored.text + "\n", out_label)
                errors = [] if scored.error is None else [(scored.line, scored.error)]
            for number, error in errors:
                bad += 1
                for line in error.splitlines():
                    report(f"{label}:{number}: {line.split(': ', 1)[1]}")
        _write(out, None, out_label)
    finally:
        if input_path != "-":
            stream.close()
    return bad


def _copy(path: str, out: Any, label: str) -> None:
    """Append a worker's chunk file to the output (as bytes when the output has them), then remove it."""
    import shutil

    try:
        with open(path, "rb") as src:
            target = getattr(out, "buffer", None)
            if target is None:
                out.write(src.read().decode("utf-8"))
            else:
                out.flush()
                shutil.copyfileobj(src, target, 1 << 20)
    except OSError as e:
        raise OutputError(f"{label}: cannot write: {e.strerror or e}") from None
    finally:
        os.unlink(path)


def _write(out: Any, text: str | None, label: str) -> None:
    """Write (or, with None, flush) the output; a failure is an ``OutputError`` (exit 2)."""
    try:
        if text is None:
            out.flush()
        else:
            out.write(text)
    except OSError as e:
        raise OutputError(f"{label}: cannot write: {e.strerror or e}") from None
