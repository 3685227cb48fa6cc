"""The commands about the knowledge itself: check, exercises, schema."""

from __future__ import annotations

import sys

import click

from .options import InputError, knowledge_option, load_kb


@click.command()
@knowledge_option
@click.option("--witnesses", is_flag=True, help="Also print, for each exercise, answers that reach it.")
def check(knowledge_dir: str | None, witnesses: bool) -> None:
    """Validate the rules and content, and check them as a whole.

    Every exercise, finding and advice must be reachable: for each, answers are
    built by chaining backward through the rules, and the real engine is run on
    them to prove it. Prints one line per problem and exits 1 if there are any
    errors (lines starting "note:" are information).

    \b
        stretchwise check
        stretchwise check --witnesses
        stretchwise check --knowledge-dir my-edited-copy/
    """
    from ..checks import run_checks, witness
    from ..errors import KnowledgeError
    from ..knowledge import load_knowledge

    try:
        kb = load_knowledge(knowledge_dir)
    except KnowledgeError as e:
        click.echo(str(e))
        sys.exit(1)
    problems = run_checks(kb)
    errors = [p for p in problems if p.severity == "error"]
    for p in errors or problems:
        click.echo(str(p))
    if errors:
        sys.exit(1)
    if witnesses:
        import json

        for eid in kb.exercises:
            click.echo(f"{eid}: {json.dumps(witness(kb, 'exercise', eid), sort_keys=True)}")
    click.echo(
        f"ok: {len(kb.rules)} rules, {len(kb.exercises)} exercises, {len(kb.findings)} findings,"
        f" {len(kb.advice)} advice, knowledge base {kb.version}"
    )


@click.command()
@click.option("--plan", "plan", is_flag=True, help="The schema of a clinician's plan (--adjust) instead.")
def schema(plan: bool) -> None:
    """Print the JSON Schema of the answers format (version 1).

    \b
        stretchwise schema > answers.schema.json
        stretchwise schema --plan > plan.schema.json
    """
    import json

    from ..answers import answers_schema

    if plan:
        from ..plan import plan_schema

        click.echo(json.dumps(plan_schema(), indent=2))
        return

    click.echo(json.dumps(answers_schema(), indent=2))


@click.command()
@click.argument("exercise_id", required=False)
@knowledge_option
def exercises(exercise_id: str | None, knowledge_dir: str | None) -> None:
    """List the exercise library, or show one exercise in full.

    \b
        stretchwise exercises
        stretchwise exercises hip_flexor_stretch
    """
    from ..pipeline import unknown_exercise

    kb = load_kb(knowledge_dir)
    if exercise_id is None:
        width = max(len(e) for e in kb.exercises)
        for ex in kb.exercises.values():
            variants = ", ".join(v.id for v in ex.variants)
            click.echo(f"{ex.id:<{width}}  {ex.kind:<8}  {ex.name}  [{variants}]")
        return
    if exercise_id not in kb.exercises:
        raise InputError(unknown_exercise(kb, exercise_id))
    ex = kb.exercises[exercise_id]
    source = kb.sources[ex.source]
    click.echo(f"{ex.name} ({ex.id})")
    click.echo(f"  kind: {ex.kind}   dose: {ex.dose.describe()}")
    click.echo(f"  targets: {'; '.join(ex.targets)}")
    click.echo(f"  loads: {', '.join(ex.loads) or 'nothing in particular'}")
    click.echo(f"  source: {source.id} ({source.title})")
    for v in ex.variants:
        equipment = f", needs {', '.join(v.equipment)}" if v.equipment else ""
        click.echo(f"\n  {v.name} [{v.id}], {v.position}{equipment}")
        for i, step in enumerate(v.steps, 1):
            click.echo(f"    {i}. {step}")
    click.echo("\n  Cautions:")
    for c in ex.cautions:
        click.echo(f"    - {c}")
