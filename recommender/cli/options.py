"""What every command shares: the options, spelled once, and the few steps every
command takes the same way (load the knowledge, read the answers, write the output).

Heavy modules (pydantic models, durable-rules, jinja2) are imported inside the
helpers, so ``--help`` and usage errors stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..render import EXPLAIN_TEMPLATES, RENDERERS

if TYPE_CHECKING:
    from ..answers import Answers
    from ..knowledge import Knowledge
    from ..plan import Plan

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: The --format choices come from the renderer registries (importing render is cheap).
FORMATS = tuple(sorted(RENDERERS))
EXPLAIN_FORMATS = tuple(sorted(EXPLAIN_TEMPLATES))

KNOWLEDGE_HINT = "Hint: `stretchwise check` validates every knowledge file."


class InputError(click.ClickException):
    """Bad input or usage: exit code 2, a message, no traceback."""

    exit_code = 2


def knowledge_option(f: F) -> F:
    return click.option(
        "--knowledge-dir",
        type=click.Path(file_okay=False, exists=True),
        default=None,
        help="Use the rules/ and content/ in this folder instead of the bundled ones.",
    )(f)


def output_option(f: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="Write to this file (only when the run succeeds) instead of the screen.",
    )(f)


#: The answers file every command reads: YAML, JSON or a FHIR QuestionnaireResponse; - for stdin.
answers_argument = click.argument("answers", type=click.Path(dir_okay=True, allow_dash=True))


def format_option(choices: tuple[str, ...], help_text: str) -> Callable[[F], F]:
    """``-f/--format``, spelled the same way by every command that renders."""
    return click.option(
        "-f", "--format", "fmt", type=click.Choice(choices), default="text", show_default=True, help=help_text
    )


def load_kb(knowledge_dir: str | None) -> Knowledge:
    """The knowledge base; a broken one is exit code 2 with the place named."""
    from ..errors import KnowledgeError
    from ..knowledge import load_knowledge

    try:
        return load_knowledge(knowledge_dir)
    except KnowledgeError as e:
        raise InputError(f"{e}\n{KNOWLEDGE_HINT}") from None


def load(path: str, kb: Knowledge) -> Answers:
    """Read answers through the one reader, turning a bad file into exit code 2 with the message."""
    from ..errors import AnswersError
    from ..reader import load_answers

    try:
        return load_answers(path, kb)
    except AnswersError as e:
        raise InputError(str(e)) from None


def plan_option(f: F) -> F:
    """``--adjust PLAN.yaml``: a clinician's plan applied to the routine (issue 21); read it with ``load_plan``."""
    return click.option(
        "--adjust",
        "plan_path",
        metavar="PLAN.yaml",
        type=click.Path(dir_okay=True, allow_dash=True),
        default=None,
        help="A clinician's plan: remove, add, dose, override, clear, each with a reason (see README).",
    )(f)


def load_plan(path: str | None, kb: Knowledge) -> Plan | None:
    """Read a clinician's plan through the one reader (None when no --adjust); a bad plan is exit code 2."""
    if path is None:
        return None
    from ..errors import PlanError
    from ..reader import load_plan as read

    try:
        return read(path, kb)
    except PlanError as e:
        raise InputError(str(e)) from None


def adjusted(job: Callable[[], T]) -> T:
    """Run a job given a plan, which may prove unsafe for these answers: that is bad input, exit code 2.

    Every command with ``--adjust`` runs its job through here:
    ``adjusted(lambda: pipeline.recommend(kb, person, load_plan(plan_path, kb)))``.
    """
    from ..errors import PlanError

    try:
        return job()
    except PlanError as e:
        raise InputError(str(e)) from None


def emit(text: str | bytes, output: str | None) -> None:
    """Print, or replace ``output`` atomically so a failed run never leaves half a file."""
    if output is None:
        if isinstance(text, bytes) and sys.stdout.isatty():
            raise InputError("a PDF is not for the terminal: add -o routine.pdf")
        click.echo(text, nl=False)
        return
    from pathlib import Path

    from ..atomic import write_atomic

    try:
        write_atomic(Path(output), text)
    except OSError as e:
        raise InputError(f"{output}: cannot write: {e.strerror}") from None
