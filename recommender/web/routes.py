"""The web app's routes, on one ``APIRouter``: the questionnaire, the routine
page and its downloads, and ``POST /api/recommend`` for programs.

Each route reads what was sent with the one reader (``recommender.reader``) or
the form reader (``recommender.web.form``), calls ``recommend`` and renders;
nothing is decided here. The knowledge base is the app's
(``request.app.state.kb``, set by ``create_app``). Nothing is stored: no files,
no sessions, no cookies, and answers never appear in a URL (every form is a
POST), so the access log holds paths only. The answers travel with the page
itself, in the hidden field of its buttons.

Every inference runs on the event loop's own thread, one at a time
(durable-rules is not thread-safe; ``recommender.engine`` also holds a lock).
It is about 2 ms of pure Python: handed to a thread it freed nothing (the
GIL), cost two thread switches a request, and made the loop wait for the GIL
while the engine ran, so the slowest answers came later (issue 22). The PDF is
laid out in a worker process (``pdfs``), so a slow PDF never holds up a
routine and WeasyPrint's native memory is given back when the worker is
replaced.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from ..answers import Answers, answers_schema
from ..errors import AnswersError
from ..knowledge import Knowledge
from ..paths import templates_dir
from ..pipeline import follow_up, recommend
from ..reader import answers_from, read_answers, read_document
from ..render import render
from ..recommendation import Recommendation
from . import pdfs
from .form import Raw, default_raw, parse_form, raw_from_answers
from .pages import answers_file, docs_page, form_page, message_page, routine_page

#: The page's own files, served from templates/web/ (nothing comes from elsewhere).
STATIC = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8"}

#: The example shown in the API description (examples/desk-worker.yaml).
EXAMPLE: dict[str, Any] = {
    "version": 1,
    "name": "Sam",
    "age": 42,
    "areas": ["low_back", "neck"],
    "pain": 5,
    "duration_weeks": 8,
    "red_flags": [],
    "sitting_hours": 9,
    "posture": ["forward_head"],
    "stiff_to_turn_head": True,
    "stress": "moderate",
    "equipment": ["chair", "wall", "pillow"],
    "minutes": 10,
}

#: The label of the answers a routine page carries, as messages name them.
CARRIED = "the answers sent with the page"

router = APIRouter()


class Problem(BaseModel):
    field: str
    message: str


class Problems(BaseModel):
    """What was wrong with the answers: one entry per field."""

    ok: Literal[False] = False
    errors: list[Problem]


async def knowledge(request: Request) -> Knowledge:
    """The app's knowledge base (``create_app`` puts it in ``app.state``); ``async`` so that
    FastAPI calls it on the event loop, not through its thread pool (a hop per request)."""
    kb: Knowledge = request.app.state.kb
    return kb


KB = Annotated[Knowledge, Depends(knowledge)]


def static_files() -> dict[str, bytes]:
    """The page's own files, read once when the app is made."""
    return {name: (templates_dir() / "web" / name).read_bytes() for name in STATIC}


# --------------------------------------------------------------------------- helpers


def _page(html: str, status: int = 200, policy: str | None = None) -> HTMLResponse:
    headers = {"content-security-policy": policy} if policy else None
    return HTMLResponse(html, status_code=status, headers=headers)


async def refused_page(request: Request, e: Exception) -> HTMLResponse:
    """An AnswersError no route handled itself (the answers a page carries): the page that says so."""
    return _refused(e)


def _refused(e: Exception) -> HTMLResponse:
    said = str(e).rstrip()
    text = f"{said}{'' if said.endswith('.') else '.'} Start again from the questions page."
    return _page(message_page("These answers could not be read", text), status=422)


async def _fields(request: Request, max_files: int = 0) -> tuple[Raw, list[tuple[str, bytes]]]:
    """The fields of a posted form, and any uploaded file as (name, content); nothing kept on disk."""
    raw: Raw = {}
    files = []
    async with request.form(max_files=max_files, max_fields=200) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append((value.filename or "", await value.read()))
            else:
                raw.setdefault(key, []).append(value)
    return raw, files


async def _carried(request: Request, kb: Knowledge) -> Answers:
    """The answers a routine page carries in its buttons, through the one reader."""
    raw, _ = await _fields(request)
    return _answers_in(raw, kb)


def _answers_in(raw: Raw, kb: Knowledge) -> Answers:
    values = raw.get("answers") or [""]
    if len(values) != 1:
        raise AnswersError(f"{CARRIED}: given more than once")
    return read_answers(values[0], CARRIED, kb, json_only=True)


# --------------------------------------------------------------------------- the pages


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def questions(kb: KB) -> HTMLResponse:
    return _page(form_page(kb, default_raw(kb.questions), {}))


@router.post("/routine", include_in_schema=False)
async def routine(request: Request, kb: KB) -> HTMLResponse:
    raw, _ = await _fields(request)
    answers, errors = parse_form(kb.questions, raw)  # after a safety yes, errors are set aside
    if answers is None:
        return _page(form_page(kb, raw, errors), status=422)
    rec = recommend(kb, answers)
    if errors and rec.routine is not None:  # only the advice may go past a wrong answer
        return _page(form_page(kb, raw, errors), status=422)
    html, policy = routine_page(kb, rec, answers, set_aside=errors)
    return _page(html, policy=policy)


@router.get("/routine", include_in_schema=False)
def routine_again() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)  # answers never travel in a URL


@router.post("/edit", include_in_schema=False)
async def edit(request: Request, kb: KB) -> HTMLResponse:
    answers = await _carried(request, kb)  # refused as a page by refused_page (app.py)
    notice = "Here are your answers. Change what you like, then press the button at the end."
    raw = raw_from_answers(kb.questions, answers.model_dump(mode="json"))
    return _page(form_page(kb, raw, {}, notice))


@router.post("/load", include_in_schema=False)
async def load(request: Request, kb: KB) -> HTMLResponse:
    _, files = await _fields(request, max_files=1)
    if not files or not files[0][0]:
        problem = "Choose your answers file first."
        return _page(form_page(kb, default_raw(kb.questions), {}, upload_error=problem), status=422)
    return _page(*_loaded(kb, files[0][1]))


# --------------------------------------------------------------------------- a follow-up visit (issue 20)

#: The label of the first visit's answers a check-in page carries.
EARLIER = "the answers of your last visit sent with the page"


@router.post("/check-in", include_in_schema=False)
async def check_in(request: Request, kb: KB) -> HTMLResponse:
    """The form for a follow-up visit: last time's answers filled in, the safety screen to answer
    again, the check-in at the end; the file is carried in the page, never stored."""
    _, files = await _fields(request, max_files=1)
    if not files or not files[0][0]:
        problem = "Choose the answers file you saved last time first."
        return _page(form_page(kb, default_raw(kb.questions), {}, upload_error=problem), status=422)
    try:
        earlier = read_answers(files[0][1], "the file", kb)
    except AnswersError as e:
        problem = _unreadable(str(e).removeprefix("the file: "))
        return _page(form_page(kb, default_raw(kb.questions), {}, upload_error=problem), status=422)
    raw = raw_from_answers(kb.questions, earlier.model_dump(mode="json"))
    raw = {k: v for k, v in raw.items() if not k.startswith("red_flags:")}  # the safety screen, asked again
    notice = (
        "Welcome back. Your answers from last time are filled in: answer the safety questions again,"
        " change what has changed, and say how the last two weeks went at the end."
    )
    return _page(form_page(kb, raw, {}, notice, earlier=earlier))


@router.post("/follow-up", include_in_schema=False)
async def follow_up_visit(request: Request, kb: KB) -> HTMLResponse:
    raw, _ = await _fields(request)
    earlier = _earlier(raw, kb)
    answers, errors = parse_form(kb.questions + kb.check_in, raw)
    if answers is None:
        return _page(form_page(kb, raw, errors, earlier=earlier), status=422)
    rec = follow_up(kb, earlier, answers)
    if errors and rec.routine is not None:  # only the advice may go past a wrong answer
        return _page(form_page(kb, raw, errors, earlier=earlier), status=422)
    html, policy = routine_page(kb, rec, answers, set_aside=errors, earlier=earlier)
    return _page(html, policy=policy)


def _earlier(raw: Raw, kb: Knowledge) -> Answers:
    values = raw.get("earlier") or [""]
    if len(values) != 1:
        raise AnswersError(f"{EARLIER}: given more than once")
    return read_answers(values[0], EARLIER, kb, json_only=True)


@router.post("/answers.yaml", include_in_schema=False)
async def answers_download(request: Request, kb: KB) -> Response:
    answers = await _carried(request, kb)  # refused as a page by refused_page (app.py)
    return Response(
        answers_file(answers),
        media_type="application/yaml; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="stretchwise-answers.yaml"'},
    )


@router.post("/routine.pdf", include_in_schema=False)
async def pdf(request: Request, kb: KB) -> Response:
    raw, _ = await _fields(request)
    answers = _answers_in(raw, kb)  # refused as a page by refused_page (app.py)
    if "earlier" in raw:  # after a check-in: the follow-up sheet
        rec = follow_up(kb, _earlier(raw, kb), answers)
    else:
        rec = recommend(kb, answers)
    data = await pdfs.pdf(rec)
    return Response(
        data,
        media_type="application/pdf",
        headers={"content-disposition": 'attachment; filename="stretching-routine.pdf"'},
    )


@router.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return _page(docs_page(request.app.openapi(), str(request.base_url).rstrip("/")))


@router.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
def favicon() -> Response:
    return Response(status_code=204)  # no icon, and no 404 in the log for it


@router.api_route("/static/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def static_file(request: Request, name: str) -> Response:
    files: dict[str, bytes] = request.app.state.static
    if name not in files:
        return Response("Not found\n", status_code=404, media_type="text/plain")
    return Response(files[name], media_type=STATIC[name])


# --------------------------------------------------------------------------- an uploaded file


def _loaded(kb: Knowledge, content: bytes) -> tuple[str, int]:
    """The form filled from an uploaded answers file, or the reason it could not be."""
    try:
        data = read_document(content, "the file")
    except AnswersError as e:
        problem = _unreadable(str(e).removeprefix("the file: "))
        return form_page(kb, default_raw(kb.questions), {}, upload_error=problem), 422
    try:
        answers = answers_from(data, "the file", kb)
    except AnswersError as e:
        return _partly_loaded(kb, data, e), 422
    raw = raw_from_answers(kb.questions, answers.model_dump(mode="json"))
    notice = (
        "Your answers are filled in below. Check them, change what has changed, "
        "then press the button at the end."
    )
    return form_page(kb, raw, {}, notice=notice), 200


def _unreadable(reason: str) -> str:
    """Why an uploaded file could not be read at all, in the page's words."""
    if "not UTF-8" in reason or "binary" in reason:
        return "This is not an answers file: it is not text."
    if "mapping of answers" in reason:
        return "This file does not hold answers (YAML or JSON, as saved here)."
    return f"This file could not be read: {reason}."


def _partly_loaded(kb: Knowledge, data: dict[str, Any], e: AnswersError) -> str:
    """The form filled with what a file got right, each wrong answer named by its question,
    and anything the form does not ask about (an unknown key) named above it."""
    asked = {q.id for q in kb.questions}
    raw = {**default_raw(kb.questions), **raw_from_answers(kb.questions, data)}
    _, errors = parse_form(kb.questions, raw)
    other = [f"{p['field']} {p['message']}" for p in e.problems if p["field"].split("[")[0] not in asked]
    upload = "Some of this file could not be used: " + "; ".join(other) + "." if other else ""
    notice = "Your answers are filled in below, except what needs a look: see the messages."
    return form_page(kb, raw, errors, notice=notice, upload_error=upload)


# --------------------------------------------------------------------------- the JSON API


def _problems(e: AnswersError) -> JSONResponse:
    """422 with one entry per field; a body that could not be read at all is the field ``(body)``."""
    found = e.problems or [{"field": "(body)", "message": str(e).removeprefix("answers: ")}]
    return JSONResponse(Problems(errors=[Problem(**p) for p in found]).model_dump(), status_code=422)


@router.post(
    "/api/recommend",
    summary="Recommend a routine for one person's answers",
    description=(
        "The body is the answers (format version 1) as JSON; the reply is the recommendation "
        "(format version 1), exactly what `stretchwise recommend --format json` prints. Bad "
        "answers get 422 with one entry per field; a body over 64 kB gets 413."
    ),
    response_model=None,
    responses={
        200: {"model": Recommendation, "description": "The recommendation (format version 1)."},
        413: {"description": "The body is larger than 64 kB.", "model": Problems},
        422: {
            "description": "The answers are not valid: each problem names its field.",
            "model": Problems,
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The answers, format version 1.",
            "content": {"application/json": {"schema": answers_schema(), "example": EXAMPLE}},
        }
    },
)
async def api_recommend(request: Request, kb: KB) -> Response:
    try:
        answers = read_answers(await request.body(), "answers", kb, json_only=True, what="body")
    except AnswersError as e:
        return _problems(e)
    rec = recommend(kb, answers)
    return Response(str(render(rec, "json")), media_type="application/json")
