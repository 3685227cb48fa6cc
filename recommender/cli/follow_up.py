"""``stretchwise follow-up``: the check-in two weeks on (issue 20)."""

from __future__ import annotations

import click

from .options import (
    FORMATS,
    adjusted,
    emit,
    format_option,
    knowledge_option,
    load,
    load_kb,
    load_plan,
    output_option,
    plan_option,
)

#: --weeks, spelled once for follow-up and explain --earlier.
weeks_option = click.option(
    "--weeks",
    type=click.IntRange(0, 520),
    default=2,
    show_default=True,
    help="Weeks between the two visits (answers files carry no date; 2 is the review date on the sheet).",
)


@click.command("follow-up")
@click.argument("earlier", type=click.Path(dir_okay=True, allow_dash=True))
@click.argument("now", type=click.Path(dir_okay=True, allow_dash=True))
@weeks_option
@format_option(FORMATS, "Output format.")
@output_option
@knowledge_option
@plan_option
def follow_up(
    earlier: str, now: str, weeks: int, fmt: str, output: str | None, knowledge_dir: str | None, plan_path: str | None
) -> None:
    """The follow-up visit: the routine for NOW's answers, shaped by how it went since EARLIER's.

    Both are answers files (YAML or JSON) or FHIR QuestionnaireResponses; NOW
    carries the check-in (days_done, overall_change). The verdict is progress,
    continue, simplify, physio, doctor_first or urgent, and the sheet's "Since
    last time" box says what changed and why. `stretchwise explain NOW
    --earlier EARLIER` shows the reasons as trees back to both visits.
    --adjust applies a clinician's plan last, after the follow-up's own changes.

    \b
        stretchwise follow-up examples/follow-up/first.yaml examples/follow-up/progress.yaml
        stretchwise follow-up first.yaml now.yaml --weeks 3 --format pdf -o follow-up.pdf
        stretchwise follow-up first.yaml now.yaml --adjust plan.yaml
    """
    from ..pipeline import follow_up as job
    from ..render import render

    kb = load_kb(knowledge_dir)
    if earlier == "-" and now == "-":
        from .options import InputError

        raise InputError("EARLIER and NOW cannot both be - (stdin)")
    before, person, plan = load(earlier, kb), load(now, kb), load_plan(plan_path, kb)
    emit(render(adjusted(lambda: job(kb, before, person, weeks, plan)), fmt), output)
