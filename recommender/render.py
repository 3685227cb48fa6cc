"""Turn a recommendation into output: one registry of formats, read everywhere."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .explain import show
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
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = _wrap
    env.filters["short_why"] = short_why
    env.filters["md"] = _markdown_escape
    env.filters["show"] = show
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


def _markdown_escape(text: str) -> str:
    """Text that Markdown shows as written (names and answers are free text)."""
    out = str(text)
    for ch in "\\`*_[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def render_template(name: str, **context: Any) -> str:
    """Render one of templates/ with the given context."""
    return _env().get_template(name).render(**context)


def short_why(node: dict[str, Any]) -> str:
    """One line of why: the chain of findings, then the answers it rests on, in plain words."""
    labels: list[str] = []
    answers: list[str] = []

    def walk(n: dict[str, Any], top: bool) -> None:
        if "answer" in n:
            text = n.get("says") or f"{n['answer']}: {n['value']}"
            if text not in answers:
                answers.append(text)
            return
        if not top and n["fact"].startswith("finding:") and n["label"] not in labels:
            labels.append(n["label"])
        for child in n["from"]:
            walk(child, False)

    walk(node, True)
    given = "because " + "; ".join(answers) if answers else ""
    return " ← ".join(p for p in (" ← ".join(labels), given) if p)


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


#: Formats of ``stretchwise explain``, and the template of each (json needs none).
EXPLAIN_TEMPLATES: dict[str, str | None] = {
    "text": "explain.txt.j2",
    "md": "explain.md.j2",
    "html": "explain.html.j2",
    "json": None,
}


def render_explanation(view: dict[str, Any], fmt: str = "text") -> str:
    """Render ``recommender.explain.explanation`` in one of ``EXPLAIN_TEMPLATES``."""
    template = EXPLAIN_TEMPLATES[fmt]
    if template is None:
        return _json(view)
    return render_template(template, view=view)


def render_why_not(answer: dict[str, Any], fmt: str = "text") -> str:
    """Render ``recommender.explain.why_not`` as text (or JSON)."""
    if fmt == "json":
        return _json(answer)
    return render_template("whynot.txt.j2", w=answer)


def _json(data: dict[str, Any]) -> str:
    """JSON of a view, without the lines that only the templates use."""
    import json

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "lines"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(data), indent=2, ensure_ascii=False) + "\n"
