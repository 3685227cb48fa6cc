"""Files that are replaced whole or not at all: a failed or interrupted run
never leaves a half-written file that looks complete.

Kept rather than click's ``open_file(atomic=True)``, which loses the old file
when an error is raised mid-write. What ``-o`` does with each kind of target:

- a regular file (or a new name): a temporary file beside it is renamed onto
  it when the block succeeds; an existing file keeps its permission bits;
- a symbolic link: the file it points to is replaced that way, and the link
  stays a link;
- a character device, a FIFO or a socket (``/dev/null``, a pipe): written
  straight through, never renamed onto (that would replace the device);
- a temporary file left by a run that was killed (``.NAME.PID.*.tmp`` beside
  the target, whose process is gone) is removed by the next run on the same
  target: it may hold health data.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

@contextmanager
def atomic_output(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write ``path`` through: replaced whole when the block succeeds, untouched if it fails."""
    mode, encoding = ("wb", None) if binary else ("w", "utf-8")
    target = Path(os.path.realpath(path))  # through a symlink to the file it names
    try:
        existing = target.stat()
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(target, mode, encoding=encoding) as fh:  # a device or a pipe: straight through
            yield fh
        return
    folder = target.parent
    _remove_stale(folder, target.name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    try:
        os.fchmod(fd, stat.S_IMODE(existing.st_mode) if existing is not None else _default_mode())
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` whole."""
    with atomic_output(path, binary=isinstance(data, bytes)) as fh:
        fh.write(data)


def _default_mode() -> int:
    """A new file holds health data: its owner alone may read it (0600, whatever the umask)."""
    return 0o600


def _remove_stale(folder: Path, name: str) -> None:
    """Temporary files a killed run left beside this target: their process is gone."""
    prefix = f".{name}."
    try:
        leftovers = [p for p in folder.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    except OSError:
        return
    for tmp in leftovers:
        pid = tmp.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
