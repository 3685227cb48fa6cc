"""A small on-disk cache of derived data, so the CLI starts fast.

Two things are slow to make and never change for the same input: the parsed
form of a knowledge YAML file (libyaml still builds Python objects slowly) and
jinja2's compiled templates. Both are keyed by content, so an edited file is
simply a new entry. The cache lives in ``$XDG_CACHE_HOME/stretchwise`` (or
``~/.cache/stretchwise``); ``STRETCHWISE_NO_CACHE=1`` turns it off, and any
error reading or writing it is ignored: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path | None:
    """The cache folder, created on first use; None when disabled or not writable."""
    if os.environ.get("STRETCHWISE_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "stretchwise"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def parsed_yaml(raw: bytes, parse: Any) -> Any:
    """``parse(raw)``, remembered by the content's hash (the result must be JSON data)."""
    folder = cache_dir()
    if folder is None:
        return parse(raw)
    entry = folder / f"yaml-{hashlib.sha256(raw).hexdigest()[:32]}.json"
    try:
        return json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    data = parse(raw)
    try:
        text = json.dumps(data)
    except (TypeError, ValueError):  # not plain JSON data (a YAML date, say): not cached
        return data
    _write(entry, text)
    return data


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


def _write(entry: Path, text: str) -> None:
    """Write atomically; a failure leaves no entry behind."""
    try:
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, entry)
    except OSError:
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
