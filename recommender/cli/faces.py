"""The other faces, started from the command line: the terminal questionnaire,
FHIR resources and the web server."""

from __future__ import annotations

import sys
from typing import Any

import click

from .options import KNOWLEDGE_HINT, InputError, emit, knowledge_option, load, load_kb, output_option


@click.command()
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
@click.option(
    "--follow-up",
    "follow_up",
    metavar="EARLIER",
    type=click.Path(dir_okay=True),
    default=None,
    help="A follow-up visit: EARLIER's answers are kept, the pain and safety questions asked again, then the check-in.",
)
@knowledge_option
def questionnaire(
    output: str | None,
    recommend: bool,
    html: str | None,
    resume: str | None,
    resume_file: str | None,
    follow_up: str | None,
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
        stretchwise questionnaire --follow-up answers.yaml -o now.yaml --recommend
    """
    from ..errors import StretchwiseError
    from ..questionnaire import DEFAULT_PROGRESS, Options, run

    kb = load_kb(knowledge_dir)
    opts = Options(
        earlier=load(follow_up, kb) if follow_up is not None else None,
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


@click.group()
def fhir() -> None:
    """HL7 FHIR R4: the questions as a Questionnaire, answers as a QuestionnaireResponse.

    Wherever an answers file is read (recommend, explain, batch), a
    QuestionnaireResponse to this questionnaire is read too.

    \b
        stretchwise fhir questionnaire -o stretchwise-questionnaire.json
        stretchwise fhir response examples/desk-worker.yaml -o response.json
        stretchwise recommend response.json
    """


#: The placeholder canonical URL (recommender.fhir.URL; not imported here, to keep the CLI quick to start).
PLACEHOLDER_URL = "https://stretchwise.example/fhir/Questionnaire/stretchwise"


def _check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from ..fhir import check_url

    try:
        return None if value is None else check_url(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


url_option = click.option(
    "--url",
    envvar="STRETCHWISE_FHIR_URL",
    default=None,
    callback=_check_url,
    metavar="URL",
    help=(
        "The questionnaire's canonical URL, for a clinic that publishes it under its own address "
        f"(default: $STRETCHWISE_FHIR_URL, else the placeholder {PLACEHOLDER_URL}). Set "
        "STRETCHWISE_FHIR_URL to the same URL wherever responses are read (recommend, explain, batch, serve)."
    ),
)


def _fhir_json(resource: dict[str, Any]) -> str:
    """A resource as JSON, once the FHIR R4B model has accepted it."""
    import json

    from ..fhir_response import model_problems

    problems = model_problems(resource, f"the {resource['resourceType']} made")
    if problems:  # a bug: it is built from validated content
        raise click.ClickException("\n".join(problems))
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


@fhir.command("questionnaire")
@output_option
@url_option
@knowledge_option
def fhir_questionnaire(output: str | None, url: str | None, knowledge_dir: str | None) -> None:
    """Print the FHIR R4 Questionnaire made from the questions (content/questions.yaml).

    Each linkId is an answers field; the red flags are one yes/no item each
    in the group red_flags; the skip logic is enableWhen.

    \b
        stretchwise fhir questionnaire -o stretchwise-questionnaire.json
        stretchwise fhir questionnaire --url https://fhir.clinic.example/Questionnaire/stretchwise
    """
    from ..fhir import questionnaire

    try:
        form = questionnaire(load_kb(knowledge_dir), url)
    except ValueError as e:
        raise InputError(f"{e}\n{KNOWLEDGE_HINT}") from None
    emit(_fhir_json(form), output)


@fhir.command("response")
@click.argument("answers", type=click.Path(dir_okay=True, allow_dash=True))
@output_option
@url_option
@knowledge_option
def fhir_response(answers: str, output: str | None, url: str | None, knowledge_dir: str | None) -> None:
    """Turn an ANSWERS file (YAML or JSON; - reads stdin) into a FHIR R4 QuestionnaireResponse.

    The response answers the questionnaire at --url (the same URL as for fhir questionnaire).

    \b
        stretchwise fhir response examples/desk-worker.yaml -o response.json
    """
    from ..errors import AnswersError
    from ..fhir import to_response

    kb = load_kb(knowledge_dir)
    person = load(answers, kb)
    try:
        response = to_response(person, kb, "<stdin>" if answers == "-" else answers, url)
    except AnswersError as e:
        raise InputError(str(e)) from None
    emit(_fhir_json(response), output)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes to serve with, each with its own rule engine [default: the cores].",
)
@knowledge_option
def serve(host: str, port: int, workers: int | None, knowledge_dir: str | None) -> None:
    """Serve the questionnaire and the routine as a local web page, and a JSON API.

    Open the address it prints in a browser. POST /api/recommend takes answers
    as JSON and returns the recommendation; /docs describes it. Nothing is
    stored, and the log shows paths only, never answers. Ctrl-C stops.

    \b
        stretchwise serve
        stretchwise serve --port 8080 --workers 4
        stretchwise serve --host 0.0.0.0   (other machines can reach it: mind who)
    """
    import uvicorn

    from ..web import create_app

    import os

    from ..batch import default_workers

    # serve keeps nothing: no knowledge or template cache is written while it runs
    os.environ["STRETCHWISE_NO_CACHE"] = "1"
    kb = load_kb(knowledge_dir)  # a broken knowledge base is reported once, here
    workers = workers or default_workers()
    app: Any
    if workers > 1:  # uvicorn starts the processes; each builds its own app (and engine)
        from ..web.app import KNOWLEDGE_ENV

        os.environ[KNOWLEDGE_ENV] = os.path.abspath(knowledge_dir) if knowledge_dir else ""
        app = "recommender.web.app:serve_app"
    else:
        app = create_app(kb)
        import threading

        from ..web import pdfs

        threading.Thread(target=pdfs.warm_up, daemon=True).start()  # the first PDF is not the slow one
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Stretchwise on http://{shown}:{port}/ (Ctrl-C stops)", err=True)
    from ..web.server import exit_cleanly_on_sigterm, uvicorn_options

    exit_cleanly_on_sigterm()
    # timeouts, the connection cap, the log: web/server.py; each worker process applies them
    uvicorn.run(app, **uvicorn_options(host, port), factory=workers > 1, workers=workers)
