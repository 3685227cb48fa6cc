"""A small on-disk cache of derived data, so the CLI starts fast.

Two things are slow to make and never change for the same input: the
validated knowledge base (YAML parsing and pydantic validation) and jinja2's
compiled templates. Both are keyed by content, so an edited file is simply a
new entry. The cache lives in the platform's cache folder (``platformdirs``:
``$XDG_CACHE_HOME/stretchwise`` or ``~/.cache/stretchwise`` on Linux); ``STRETCHWISE_NO_CACHE=1`` turns it off, and any
error reading or writing it is ignored: it only ever saves time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def cache_dir() -> Path | None:
    """The cache folder, created on first use; None when disabled or not writable."""
    if os.environ.get("STRETCHWISE_NO_CACHE"):
        return None
    import platformdirs  # the platform's own place (XDG_CACHE_HOME on Linux)

    path = Path(platformdirs.user_cache_dir("stretchwise", appauthor=False))
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def template_cache() -> Any:
    """jinja2's bytecode cache in our folder (it checks each template's source itself)."""
    folder = cache_dir()
    if folder is None:
        return None
    import jinja2

    try:
        (folder / "templates").mkdir(exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder / "templates"))


def cached_object(name: str, make: Callable[[], T]) -> T:
    """``make()``, remembered under ``name`` (which must change whenever the result would).

    Used for the validated knowledge base, keyed by the hash of every knowledge
    file: loading it skips YAML parsing and validation. The entry is a pickle,
    so the folder is made private to the user; the package version is part of
    the name, so an upgrade never reads an older layout.
    """
    folder = cache_dir()
    if folder is None:
        return make()
    import pickle
    import sys

    from .version import __version__

    entry = folder / f"{name}-{__version__}-py{sys.version_info[0]}{sys.version_info[1]}.pickle"
    try:
        with entry.open("rb") as fh:
            value: T = pickle.load(fh)
        return value
    except Exception:  # noqa: BLE001 - missing, stale or corrupt: make it again
        pass
    value = make()
    try:
        _write(entry, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        pass
    return value


def _write(entry: Path, data: bytes) -> None:
    """Write the entry whole; a failure leaves no entry behind, and is ignored."""
    from .atomic import write_atomic

    try:
        write_atomic(entry, data)
    except OSError:
        pass
