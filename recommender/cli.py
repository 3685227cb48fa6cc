"""The ``stretchwise`` command line: each command parses, calls the library, echoes.

Heavy modules (pydantic models, durable-rules, jinja2) are imported inside the
commands that use them, so ``--help`` and errors stay fast.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: Output formats; recommender.render.RENDERERS and EXPLAIN_TEMPLATES are the
#: registries (a test keeps them equal; importing render here would slow the start).
FORMATS = ("html", "json", "md", "pdf", "text")
EXPLAIN_FORMATS = ("html", "json", "md", "text")


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


def _answers(path: str) -> Any:
    """Load answers, turning a bad file into exit code 2 with the message."""
    from .answers import load_answers
    from .errors import AnswersError

    try:
        return load_answers(path)
    except AnswersError as e:
        raise InputError(str(e)) from None


def _no_exercise(kb: Any, exercise_id: str) -> str:
    """An unknown exercise id, with the closest ids as a hint."""
    import difflib

    close = difflib.get_close_matches(exercise_id, list(kb.exercises), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else " `stretchwise exercises` lists them."
    return f"no exercise {exercise_id!r}.{hint}"


def _kb(knowledge_dir: str | None) -> Any:
    from .errors import KnowledgeError
    from .knowledge import load_knowledge

    try:
        return load_knowledge(knowledge_dir)
    except KnowledgeError as e:
        raise InputError(f"{e}\nHint: `stretchwise check` validates every knowledge file.") from None


def _emit(text: str | bytes, output: str | None) -> None:
    """Print, or replace ``output`` atomically so a failed run never leaves half a file."""
    if output is None:
        if isinstance(text, bytes) and sys.stdout.isatty():
            raise InputError("a PDF is not for the terminal: add -o routine.pdf")
        click.echo(text, nl=False)
        return
    from .atomic import write_atomic

    try:
        write_atomic(Path(output), text)
    except OSError as e:
        raise InputError(f"{output}: cannot write: {e.strerror}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stretchwise")
def cli() -> None:
    """A stretching routine for neck and back pain, with the reasons behind each stretch.

    \b
        stretchwise recommend examples/desk-worker.yaml
        stretchwise recommend examples/desk-worker.yaml --format json
    """


@cli.command()
@answers_argument
@format_option(FORMATS, "Output format.")
@output_option
@knowledge_option
def recommend(answers: str, fmt: str, output: str | None, knowledge_dir: str | None) -> None:
    """Recommend a stretching routine for the ANSWERS file (YAML or JSON; - reads stdin).

    html and pdf are the printable sheet (A4 or US Letter), md is Markdown.

    \b
        stretchwise recommend examples/desk-worker.yaml
        stretchwise recommend answers.json --format json -o routine.json
        stretchwise recommend answers.yaml --format pdf -o routine.pdf
        stretchwise recommend - < answers.json
    """
    from .render import render
    from .routine import build_routine

    kb = _kb(knowledge_dir)
    _emit(render(build_routine(kb, _answers(answers)), fmt), output)


@cli.command()
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
@output_option
@knowledge_option
def explain(
    answers: str, fmt: str, audience: str, why_not_id: str | None, output: str | None, knowledge_dir: str | None
) -> None:
    """Explain why each stretch was chosen, back to the ANSWERS given.

    \b
        stretchwise explain examples/desk-worker.yaml
        stretchwise explain examples/desk-worker.yaml --audience clinician --format md
        stretchwise explain examples/physio.json --why-not rounded_back_stretch
    """
    from .engine import infer
    from .explain import explanation, why_not
    from .render import render_explanation, render_why_not
    from .routine import assemble

    kb = _kb(knowledge_dir)
    if why_not_id is not None and why_not_id not in kb.exercises:
        raise InputError(f"--why-not: {_no_exercise(kb, why_not_id)}")
    if why_not_id is not None and fmt not in ("text", "json"):
        raise InputError(f"--why-not gives text or json, not {fmt}")
    person = _answers(answers)
    inference = infer(kb, person)
    rec = assemble(kb, person, inference)
    if why_not_id is not None:
        _emit(render_why_not(why_not(kb, person, inference, rec, why_not_id), fmt), output)
        return
    given = person.model_dump(mode="json", exclude_unset=True)
    view = explanation(kb, inference, rec, given, clinician=audience == "clinician")
    _emit(render_explanation(view, fmt), output)


@cli.command()
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
    from .atomic import atomic_output
    from .batch import Progress, default_workers, numbered, open_input, score
    from .errors import AnswersError

    _kb(knowledge_dir)  # a broken knowledge base is reported once, here
    try:
        stream = open_input(input_path)
    except AnswersError as e:
        raise InputError(str(e)) from None
    size = None if input_path == "-" else Path(input_path).stat().st_size
    progress = Progress(size)
    label = "<stdin>" if input_path == "-" else input_path
    bad = 0
    with contextlib.ExitStack() as stack:
        out: IO[Any] = sys.stdout
        if output is not None:
            try:
                out = stack.enter_context(atomic_output(Path(output)))
            except OSError as e:
                raise InputError(f"{output}: cannot write: {e.strerror}") from None
        try:
            for scored in score(numbered(stream, progress), knowledge_dir, workers or default_workers()):
                out.write(scored.text + "\n")
                progress.row()
                if scored.error is not None:
                    bad += 1
                    for line in scored.error.splitlines():
                        click.echo(f"{label}:{scored.line}: {line.split(': ', 1)[1]}", err=True)
            out.flush()
        finally:
            progress.close()
            if input_path != "-":
                stream.close()
    if bad:
        click.echo(f"{bad} bad line(s) reported above; their output lines hold the error.", err=True)
        sys.exit(1)


@cli.command()
@knowledge_option
@click.option("--witnesses", is_flag=True, help="Also print, for each exercise, answers that reach it.")
def check(knowledge_dir: str | None, witnesses: bool) -> None:
    """Validate the rules and content, and check them as a whole.

    Every exercise, finding and advice must be reachable: for each, answers are
    built by chaining backward through the rules, and the real engine is run on
    them to prove it. Prints one line per problem and exits 1 if there are any.

    \b
        stretchwise check
        stretchwise check --witnesses
        stretchwise check --knowledge-dir my-edited-copy/
    """
    import json

    from .checks import check_knowledge, witness
    from .errors import KnowledgeError
    from .knowledge import load_knowledge

    try:
        kb = load_knowledge(knowledge_dir)
    except KnowledgeError as e:
        click.echo(str(e))
        sys.exit(1)
    from .safety import check_contraindications

    problems = check_knowledge(kb)
    coverage = check_contraindications(kb)
    problems += [line for line in coverage if not line.startswith("note: ")]
    for p in problems:
        click.echo(p)
    if problems:
        sys.exit(1)
    for line in coverage:
        if line.startswith("note: "):
            click.echo(line)
    if witnesses:
        for eid in kb.exercises:
            click.echo(f"{eid}: {json.dumps(witness(kb, 'exercise', eid), sort_keys=True)}")
    click.echo(
        f"ok: {len(kb.rules)} rules, {len(kb.exercises)} exercises, {len(kb.findings)} findings,"
        f" {len(kb.advice)} advice, knowledge base {kb.version}"
    )


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the answers format (version 1).

    \b
        stretchwise schema > answers.schema.json
    """
    import json

    from .answers import answers_schema

    click.echo(json.dumps(answers_schema(), indent=2))


@cli.command()
@click.argument("exercise_id", required=False)
@knowledge_option
def exercises(exercise_id: str | None, knowledge_dir: str | None) -> None:
    """List the exercise library, or show one exercise in full.

    \b
        stretchwise exercises
        stretchwise exercises hip_flexor_stretch
    """
    kb = _kb(knowledge_dir)
    if exercise_id is None:
        width = max(len(e) for e in kb.exercises)
        for ex in kb.exercises.values():
            variants = ", ".join(v.id for v in ex.variants)
            click.echo(f"{ex.id:<{width}}  {ex.kind:<8}  {ex.name}  [{variants}]")
        return
    ex = kb.exercises.get(exercise_id)
    if ex is None:
        raise InputError(_no_exercise(kb, exercise_id))
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


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the answers to this file (YAML; JSON if the name ends in .json). Without it you are offered to save.",
)
@click.option("--recommend", is_flag=True, help="Go straight on to the routine (as text) when the answers are in.")
@click.option(
    "--html",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the printable sheet (HTML) to this file when the answers are in.",
)
@click.option(
    "--resume",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Carry on from the progress file an interrupted run left.",
)
@click.option(
    "--resume-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to keep progress while you answer (default: the --resume file, or .stretchwise-resume.json here).",
)
@knowledge_option
def questionnaire(
    output: str | None,
    recommend: bool,
    html: str | None,
    resume: str | None,
    resume_file: str | None,
    knowledge_dir: str | None,
) -> None:
    """Ask the questions in the terminal and write an answers file.

    Enter takes the answer in [brackets], ? explains a question, < goes back
    one. Progress is kept after every answer, so Ctrl-C loses nothing: carry on
    with --resume. When input is piped, each line answers the next question.

    \b
        stretchwise questionnaire -o answers.yaml
        stretchwise questionnaire --recommend --html routine.html
        stretchwise questionnaire --resume .stretchwise-resume.json -o answers.yaml
        stretchwise questionnaire < replies.txt > answers.yaml   (one reply a line)
    """
    from .errors import StretchwiseError
    from .questionnaire import DEFAULT_PROGRESS, Options, run

    kb = _kb(knowledge_dir)
    opts = Options(
        output=output,
        recommend=recommend,
        html=html,
        resume=resume,
        progress_file=resume_file or resume or DEFAULT_PROGRESS,
        interactive=sys.stdin.isatty(),
    )
    try:
        code = run(kb, opts)
    except StretchwiseError as e:
        raise InputError(str(e)) from None
    sys.exit(code)


@cli.group()
def fhir() -> None:
    """HL7 FHIR R4: the questions as a Questionnaire, answers as a QuestionnaireResponse.

    Wherever an answers file is read (recommend, explain, batch), a
    QuestionnaireResponse to this questionnaire is read too.

    \b
        stretchwise fhir questionnaire -o stretchwise-questionnaire.json
        stretchwise fhir response examples/desk-worker.yaml -o response.json
        stretchwise recommend response.json
    """


def _fhir_json(resource: dict[str, Any]) -> str:
    """A resource as JSON, once the FHIR R4B model has accepted it."""
    import json

    from .fhir import model_problems

    problems = model_problems(resource, f"the {resource['resourceType']} made")
    if problems:  # a bug: it is built from validated content
        raise click.ClickException("\n".join(problems))
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


@fhir.command("questionnaire")
@output_option
@knowledge_option
def fhir_questionnaire(output: str | None, knowledge_dir: str | None) -> None:
    """Print the FHIR R4 Questionnaire made from the questions (content/questions.yaml).

    Each linkId is an answers field; the red flags are one yes/no item each
    in the group red_flags; the skip logic is enableWhen.

    \b
        stretchwise fhir questionnaire -o stretchwise-questionnaire.json
    """
    from .fhir import questionnaire

    try:
        form = questionnaire(_kb(knowledge_dir))
    except ValueError as e:
        raise InputError(f"{e}\nHint: `stretchwise check` validates every knowledge file.") from None
    _emit(_fhir_json(form), output)


@fhir.command("response")
@click.argument("answers", type=click.Path(dir_okay=True, allow_dash=True))
@output_option
@knowledge_option
def fhir_response(answers: str, output: str | None, knowledge_dir: str | None) -> None:
    """Turn an ANSWERS file (YAML or JSON; - reads stdin) into a FHIR R4 QuestionnaireResponse.

    \b
        stretchwise fhir response examples/desk-worker.yaml -o response.json
    """
    from .answers import load_answers
    from .errors import AnswersError
    from .fhir import to_response

    kb = _kb(knowledge_dir)
    try:
        response = to_response(load_answers(answers), kb, "<stdin>" if answers == "-" else answers)
    except AnswersError as e:
        raise InputError(str(e)) from None
    _emit(_fhir_json(response), output)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@knowledge_option
def serve(host: str, port: int, knowledge_dir: str | None) -> None:
    """Serve the questionnaire and the routine as a local web page, and a JSON API.

    Open the address it prints in a browser. POST /api/recommend takes answers
    as JSON and returns the recommendation; /docs describes it. Nothing is
    stored, and the log shows paths only, never answers. Ctrl-C stops.

    \b
        stretchwise serve
        stretchwise serve --port 8080
        stretchwise serve --host 0.0.0.0   (other machines can reach it: mind who)
    """
    import uvicorn

    from .errors import KnowledgeError
    from .web import create_app

    try:
        app = create_app(knowledge_dir)
    except KnowledgeError as e:
        raise InputError(f"{e}\nHint: `stretchwise check` validates every knowledge file.") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Stretchwise on http://{shown}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, server_header=False, proxy_headers=False, log_level="info")


def main() -> None:
    """Entry point: run the CLI with Ctrl-C as exit code 130."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
