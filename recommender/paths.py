"""Where the knowledge and the templates are: the package's own copy, or the source tree's."""

from __future__ import annotations

from pathlib import Path


def default_root() -> Path:
    """The knowledge that ships with the package (or the source tree's, in development)."""
    here = Path(__file__).resolve().parent
    packaged = here / "_data"
    if (packaged / "rules").is_dir():
        return packaged
    return here.parent



def templates_dir(root: Path | None = None) -> Path:
    """The jinja2 templates (``templates/``) beside the knowledge."""
    return (root or default_root()) / "templates"
