"""Turn a recommendation into output: one registry of formats, read everywhere."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .knowledge import default_root

if TYPE_CHECKING:
    import jinja2

    from .routine import Recommendation


def templates_dir() -> Path:
    """Where the templates are: in the package, or the source tree in development."""
    return default_root() / "templates"


@cache
def _env() -> jinja2.Environment:
    import jinja2

    from .cache import template_cache

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=template_cache(),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = _wrap
    env.filters["short_why"] = short_why
    return env


def _wrap(text: str, indent: int = 0, first: str | None = None, width: int = 78) -> str:
    pad = " " * indent
    return textwrap.fill(
        " ".join(str(text).split()),
        width=width,
        initial_indent=pad if first is None else first,
        subsequent_indent=pad,
        break_on_hyphens=False,
    )


def short_why(node: dict[str, Any]) -> str:
    """One line of why: the chain of findings, then the answers it rests on."""
    labels: list[str] = []
    answers: list[str] = []
    seen: set[str] = set()

    def walk(n: dict[str, Any], top: bool) -> None:
        if "answer" in n:
            value = n["value"]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
            text = f"{n['answer']}: {shown}"
            if text not in seen:
                seen.add(text)
                answers.append(text)
            return
        if not top and n["fact"].startswith("finding:") and n["label"] not in labels:
            labels.append(n["label"])
        for child in n["from"]:
            walk(child, False)

    walk(node, True)
    chain = " ← ".join(labels)
    given = "you answered " + "; ".join(answers) if answers else ""
    return " ← ".join(p for p in (chain, given) if p)


def render_json(rec: Recommendation) -> str:
    """The v1 JSON contract."""
    return rec.model_dump_json(indent=2) + "\n"


def render_text(rec: Recommendation) -> str:
    """A plain-text routine for the terminal."""
    return _env().get_template("recommend.txt.j2").render(rec=rec)


#: Output formats by name. The CLI's --format choices, the docs and the tests read this.
RENDERERS: dict[str, Callable[[Recommendation], str]] = {
    "json": render_json,
    "text": render_text,
}


def render(rec: Recommendation, fmt: str = "text") -> str:
    """Render a recommendation in one of the ``RENDERERS`` formats."""
    return RENDERERS[fmt](rec)
