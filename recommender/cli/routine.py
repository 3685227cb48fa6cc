"""The commands that reason over answers: recommend, explain, batch."""

from __future__ import annotations

import contextlib
import sys
from typing import IO, Any

import click

from .follow_up import weeks_option
from .options import (
    EXPLAIN_FORMATS,
    FORMATS,
    InputError,
    adjusted,
    answers_argument,
    emit,
    format_option,
    knowledge_option,
    load,
    load_kb,
    load_plan,
    output_option,
    plan_option,
)


@click.command()
@answers_argument
@format_option(FORMATS, "Output format.")
@output_option
@knowledge_option
@plan_option
def recommend(answers: str, fmt: str, output: str | None, knowledge_dir: str | None, plan_path: str | None) -> None:
    """Recommend a stretching routine for the ANSWERS file (YAML or JSON; - reads stdin).

    html and pdf are the printable sheet (A4 or US Letter), md is Markdown.
    --adjust applies a clinician's plan, and the sheet says who changed what, and why.

    \b
        stretchwise recommend examples/desk-worker.yaml
        stretchwise recommend answers.json --format json -o routine.json
        stretchwise recommend answers.yaml --format pdf -o routine.pdf
        stretchwise recommend - < answers.json
        stretchwise recommend examples/desk-worker.yaml --adjust examples/plans/desk-worker.yaml
    """
    from ..pipeline import recommend as job
    from ..render import render

    kb = load_kb(knowledge_dir)
    person, plan = load(answers, kb), load_plan(plan_path, kb)
    emit(render(adjusted(lambda: job(kb, person, plan)), fmt), output)


@click.command()
@answers_argument
@format_option(EXPLAIN_FORMATS, "Output format (--why-not: text or json).")
@click.option(
    "--audience",
    type=click.Choice(["person", "clinician"]),
    default="person",
    show_default=True,
    help="clinician adds the answers, every rule fired in order, the findings and the minimal referral answers.",
)
@click.option("--why-not", "why_not_id", metavar="ID", help="Why one exercise is, or is not, in the routine.")
@click.option(
    "--earlier",
    metavar="EARLIER",
    type=click.Path(dir_okay=True),
    default=None,
    help="The first visit's answers: explain ANSWERS as a follow-up visit (the verdict and each change).",
)
@weeks_option
@output_option
@knowledge_option
@plan_option
def explain(
    answers: str,
    fmt: str,
    audience: str,
    why_not_id: str | None,
    earlier: str | None,
    weeks: int,
    output: str | None,
    knowledge_dir: str | None,
    plan_path: str | None,
) -> None:
    """Explain why each stretch was chosen, back to the ANSWERS given.

    \b
        stretchwise explain examples/desk-worker.yaml
        stretchwise explain examples/desk-worker.yaml --audience clinician --format md
        stretchwise explain examples/physio.json --why-not rounded_back_stretch
        stretchwise explain examples/desk-worker.yaml --adjust examples/plans/desk-worker.yaml --audience clinician
        stretchwise explain examples/follow-up/progress.yaml --earlier examples/follow-up/first.yaml
    """
    from .. import pipeline
    from ..render import render_explanation, render_why_not

    kb = load_kb(knowledge_dir)
    if why_not_id is not None and why_not_id not in kb.exercises:
        raise InputError(f"--why-not: {pipeline.unknown_exercise(kb, why_not_id)}")
    if why_not_id is not None and fmt not in ("text", "json"):
        raise InputError(f"--why-not gives text or json, not {fmt}")
    if why_not_id is not None and plan_path is not None:
        raise InputError("--why-not answers for the rules' choice: leave out --adjust")
    person = load(answers, kb)
    before = load(earlier, kb) if earlier is not None else None
    if why_not_id is not None:
        emit(render_why_not(pipeline.why_not(kb, person, why_not_id, before, weeks), fmt), output)
        return
    plan = load_plan(plan_path, kb)
    view = adjusted(
        lambda: pipeline.explain(kb, person, clinician=audience == "clinician", earlier=before, weeks=weeks, plan=plan)
    )
    emit(render_explanation(view, fmt), output)


@click.command()
@click.argument("input_path", metavar="IN.jsonl", type=click.Path(dir_okay=True, allow_dash=True))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write here (renamed into place at the end)."
)
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Processes to use [default: the cores].")
@knowledge_option
def batch(input_path: str, output: str | None, workers: int | None, knowledge_dir: str | None) -> None:
    """Score a JSON-lines file of answers: one v1 recommendation per line, in input order.

    A bad line is reported on stderr with its number and field, and its output
    line is {"line": N, "error": {...}}, so input and output stay aligned.
    Exit 0 when every line was good, 1 when some were bad, 2 when the input
    cannot be read at all.

    \b
        stretchwise batch visits.jsonl -o recommendations.jsonl
        stretchwise batch - --workers 1 < visits.jsonl
    """
    import signal

    load_kb(knowledge_dir)  # a broken knowledge base is reported once, here
    # SIGTERM as Ctrl-C: the workers are stopped and the temporary file removed on the way out
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        _batch(input_path, output, workers, knowledge_dir)
    finally:
        signal.signal(signal.SIGTERM, previous)  # in-process callers (tests) get theirs back


def _batch(input_path: str, output: str | None, workers: int | None, knowledge_dir: str | None) -> None:
    from pathlib import Path

    from .. import batch as job
    from ..atomic import atomic_output
    from ..errors import AnswersError, OutputError

    size = None if input_path == "-" or not Path(input_path).is_file() else Path(input_path).stat().st_size
    with contextlib.ExitStack() as stack:
        out: IO[Any] = sys.stdout
        if output is not None:
            try:
                out = stack.enter_context(atomic_output(Path(output)))
            except OSError as e:
                raise InputError(f"{output}: cannot write: {e.strerror}") from None
        # a bar on stderr when it is a terminal and the size is known; nothing otherwise
        # (click would still print the label once to a pipe)
        hidden = not size or not sys.stderr.isatty()
        bar = stack.enter_context(click.progressbar(length=size or 1, label="scoring", file=sys.stderr, hidden=hidden))
        try:
            bad = job.run(
                input_path,
                out,
                knowledge_dir,
                workers or job.default_workers(),
                lambda m: click.echo(m, err=True),
                bar,
                output or "<stdout>",
            )
        except (AnswersError, OutputError) as e:
            raise InputError(str(e)) from None
    if bad:
        click.echo(f"{bad} bad line(s) reported above; their output lines hold the error.", err=True)
        sys.exit(1)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM ends a batch like Ctrl-C does, with the conventional exit code 143."""
    raise SystemExit(128 + signum)
