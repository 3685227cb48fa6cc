"""The web app (``stretchwise serve``): the questionnaire as a page, the routine
as the printable sheet, and ``POST /api/recommend`` for programs.

Each view parses what was sent into ``Answers``, calls ``build_routine`` and
renders; nothing is decided here. Nothing is stored: no files, no sessions,
no cookies, and answers never appear in a URL (every form is a POST), so the
access log holds paths only. The answers travel with the page itself, in the
hidden field of its buttons.

durable-rules is not thread-safe, so every inference runs on one dedicated
thread (``recommender.engine`` also holds a lock); the PDF is laid out on
another single thread, so a slow PDF never holds up a routine.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from ..answers import Answers, answers_schema
from ..errors import AnswersError
from ..knowledge import Knowledge, load_knowledge
from ..paths import templates_dir
from ..pipeline import recommend
from ..reader import answers_from, read_answers, read_document
from ..render import render
from ..routine import Recommendation
from ..version import __version__
from .form import Raw, default_raw, parse_form, raw_from_answers
from .guard import MAX_BODY, LimitBody, SecurityHeaders
from .pages import answers_file, docs_page, form_page, message_page, routine_page

T = TypeVar("T")

_ENGINE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stretchwise-engine")
_PDF = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stretchwise-pdf")

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


class Problem(BaseModel):
    field: str
    message: str


class Problems(BaseModel):
    """What was wrong with the answers: one entry per field."""

    ok: Literal[False] = False
    errors: list[Problem]


async def _on(pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


def _problems(problems: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse(Problems(errors=[Problem(**p) for p in problems]).model_dump(), status_code=422)


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


def _carried(kb: Knowledge, raw: Raw) -> Answers:
    """The answers a routine page carries in its buttons, through the one reader."""
    values = raw.get("answers") or [""]
    if len(values) != 1:
        raise AnswersError("the answers sent with the page: given more than once")
    return read_answers(values[0], "the answers sent with the page", kb, json_only=True)


def create_app(kb: Knowledge | None = None) -> FastAPI:
    """The web app, for one knowledge base (the bundled one when none is given)."""
    if kb is None:
        kb = load_knowledge()
    static = {name: (templates_dir() / "web" / name).read_bytes() for name in STATIC}
    app = FastAPI(
        title="Stretchwise",
        version=__version__,
        summary="A stretching routine for neck and back pain, with the reason for every stretch.",
        description=(
            "The JSON API of `stretchwise serve`. Send the answers (format version 1, as the "
            "README documents them) and get the recommendation (format version 1). Nothing is stored."
        ),
        docs_url=None,  # FastAPI's docs pages load their scripts from a CDN; /docs is our own page
        redoc_url=None,
    )
    app.add_middleware(LimitBody, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders)

    def page(html: str, status: int = 200, policy: str | None = None) -> HTMLResponse:
        headers = {"content-security-policy": policy} if policy else None
        return HTMLResponse(html, status_code=status, headers=headers)

    def refused(e: AnswersError) -> HTMLResponse:
        text = f"{e} Start again from the questions page."
        return page(message_page("These answers could not be read", text), status=422)

    @app.get("/", include_in_schema=False)
    def questions() -> HTMLResponse:
        return page(form_page(kb, default_raw(kb.questions), {}))

    @app.post("/routine", include_in_schema=False)
    async def routine(request: Request) -> HTMLResponse:
        raw, _ = await _fields(request)
        answers, errors = parse_form(kb.questions, raw)
        if answers is None:
            return page(form_page(kb, raw, errors), status=422)
        rec = await _on(_ENGINE, recommend, kb, answers)
        html, policy = routine_page(kb, rec, answers)
        return page(html, policy=policy)

    @app.get("/routine", include_in_schema=False)
    def routine_again() -> RedirectResponse:
        return RedirectResponse("/", status_code=303)  # answers never travel in a URL

    @app.post("/edit", include_in_schema=False)
    async def edit(request: Request) -> HTMLResponse:
        raw, _ = await _fields(request)
        try:
            answers = _carried(kb, raw)
        except AnswersError as e:
            return refused(e)
        notice = "Here are your answers. Change what you like, then press the button at the end."
        return page(
            form_page(kb, raw_from_answers(kb.questions, answers.model_dump(mode="json")), {}, notice)
        )

    @app.post("/load", include_in_schema=False)
    async def load(request: Request) -> HTMLResponse:
        _, files = await _fields(request, max_files=1)
        return page(*_loaded(kb, files))

    @app.post("/answers.yaml", include_in_schema=False)
    async def answers_download(request: Request) -> Response:
        raw, _ = await _fields(request)
        try:
            answers = _carried(kb, raw)
        except AnswersError as e:
            return refused(e)
        return Response(
            answers_file(answers),
            media_type="application/yaml; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="stretchwise-answers.yaml"'},
        )

    @app.post("/routine.pdf", include_in_schema=False)
    async def pdf(request: Request) -> Response:
        raw, _ = await _fields(request)
        try:
            answers = _carried(kb, raw)
        except AnswersError as e:
            return refused(e)
        rec = await _on(_ENGINE, recommend, kb, answers)
        data = await _on(_PDF, render, rec, "pdf")
        return Response(
            data,
            media_type="application/pdf",
            headers={"content-disposition": 'attachment; filename="stretching-routine.pdf"'},
        )

    @app.post(
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
    async def api_recommend(request: Request) -> Response:
        body = await request.body()
        try:
            answers = read_answers(body, "answers", kb, json_only=True, what="body")
        except AnswersError as e:
            return _problems(e.problems or [{"field": "(body)", "message": str(e).removeprefix("answers: ")}])
        rec = await _on(_ENGINE, recommend, kb, answers)
        return Response(str(render(rec, "json")), media_type="application/json")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return page(docs_page(app.openapi(), str(request.base_url).rstrip("/")))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # no icon, and no 404 in the log for it

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        if name not in static:
            return Response("Not found\n", status_code=404, media_type="text/plain")
        return Response(static[name], media_type=STATIC[name])

    return app


def _loaded(kb: Knowledge, files: list[tuple[str, bytes]]) -> tuple[str, int]:
    """The form filled from an uploaded answers file, or the reason it could not be."""
    if not files or not files[0][0]:
        return form_page(
            kb, default_raw(kb.questions), {}, upload_error="Choose your answers file first."
        ), 422
    try:
        data = read_document(files[0][1], "the file")
    except AnswersError as e:
        reason = str(e).removeprefix("the file: ")
        if "not UTF-8" in reason or "binary" in reason:
            problem = "This is not an answers file: it is not text."
        elif "mapping of answers" in reason:
            problem = "This file does not hold answers (YAML or JSON, as saved here)."
        else:
            problem = f"This file could not be read: {reason}."
        return form_page(kb, default_raw(kb.questions), {}, upload_error=problem), 422
    try:
        answers = answers_from(data, "the file", kb)
    except AnswersError as e:
        asked = {q.id for q in kb.questions}
        raw = {**default_raw(kb.questions), **raw_from_answers(kb.questions, data)}
        _, errors = parse_form(kb.questions, raw)
        other = [f"{p['field']} {p['message']}" for p in e.problems if p["field"].split("[")[0] not in asked]
        upload = "Some of this file could not be used: " + "; ".join(other) + "." if other else ""
        notice = "Your answers are filled in below, except what needs a look: see the messages."
        return form_page(kb, raw, errors, notice=notice, upload_error=upload), 422
    raw = raw_from_answers(kb.questions, answers.model_dump(mode="json"))
    notice = "Your answers are filled in below. Check them, change what has changed, then press the button at the end."
    return form_page(kb, raw, {}, notice=notice), 200
