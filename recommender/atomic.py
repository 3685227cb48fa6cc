"""Files that are replaced whole or not at all: a failed or interrupted run
never leaves a half-written file that looks complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_output(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A temporary file beside ``path``, renamed onto it only when the block succeeds."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        mode, encoding = ("wb", None) if binary else ("w", "utf-8")
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` whole."""
    with atomic_output(path, binary=isinstance(data, bytes)) as fh:
        fh.write(data)
