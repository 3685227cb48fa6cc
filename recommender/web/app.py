"""The web app (``stretchwise serve``): the questionnaire as a page, the routine
as the printable sheet, and ``POST /api/recommend`` for programs.

``create_app`` only builds the app: its description, its state (the knowledge
base and the page's own files), the middleware every response goes through
(``recommender.web.guard``) and the routes (``recommender.web.routes``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from ..answers import Answers
from ..fhir import FINISHED, URL, URL_VARIABLE, to_response
from ..knowledge import Knowledge, load_knowledge
from ..version import __version__
from .guard import MAX_BODY, LimitBody, SecurityHeaders
from . import pdfs
from ..errors import AnswersError
from .routes import EXAMPLE, refused_page, router, static_files


class _App(FastAPI):
    """The security headers go around everything, Starlette's own error handling included,
    so a 500 carries them too. The API's description adds the FHIR body it accepts."""

    def build_middleware_stack(self) -> Any:
        return SecurityHeaders(super().build_middleware_stack())

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            spec = super().openapi()
            body = spec["paths"]["/api/recommend"]["post"]["requestBody"]["content"]
            body["application/fhir+json"] = fhir_body(self.state.kb)
            spec.setdefault("components", {}).setdefault("schemas", {})["QuestionnaireResponseItem"] = FHIR_ITEM
            self.openapi_schema = spec
        return self.openapi_schema


#: One item of a QuestionnaireResponse: its linkId, its answers, the items inside it.
FHIR_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["linkId"],
    "properties": {
        "linkId": {"type": "string", "description": "The linkId of an item of the Stretchwise questionnaire."},
        "text": {"type": "string"},
        "answer": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "One value, of the item's type: valueBoolean, valueInteger, valueString or "
                "valueCoding (a code of the item's answer options).",
            },
        },
        "item": {"type": "array", "items": {"$ref": "#/components/schemas/QuestionnaireResponseItem"}},
    },
}


#: What the outline below cannot say.
FHIR_NOTE = (
    "Its schema is the resource's outline. Which items may be answered (the skip logic), which "
    "are required and what each value may be come from the questionnaire (`stretchwise fhir "
    "questionnaire`), which JSON Schema does not express: a response that breaks them gets 422 "
    "naming the linkId. Sent as application/json it is read the same way."
)


def fhir_body(kb: Knowledge) -> dict[str, Any]:
    """The FHIR R4 QuestionnaireResponse the API also accepts, with the example's answers as one."""
    example = to_response(Answers.model_validate(EXAMPLE), kb)
    return {
        "schema": {
            "title": "A completed FHIR R4 QuestionnaireResponse to the Stretchwise questionnaire",
            "description": FHIR_NOTE,
            "type": "object",
            "required": ["resourceType", "questionnaire", "status", "item"],
            "properties": {
                "resourceType": {"const": "QuestionnaireResponse"},
                "questionnaire": {
                    "type": "string",
                    "description": f"{URL} (any version after a |), or a clinic's own URL when "
                    f"{URL_VARIABLE} is set to it.",
                },
                "status": {"enum": list(FINISHED)},
                "item": {"type": "array", "items": {"$ref": "#/components/schemas/QuestionnaireResponseItem"}},
            },
        },
        "example": example,
    }


async def _server_error(request: Request, exc: Exception) -> PlainTextResponse:
    """A bug: a short page, never a traceback, and the security headers as always."""
    return PlainTextResponse("Something went wrong on our side; nothing was kept. Please try again.\n", 500)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    pdfs.shutdown()  # the PDF worker process ends with the app
    if getattr(app.state, "worker_process", False):
        pdfs.release_temporary_folder()  # the process ends right after (see serve_app)


def create_app(kb: Knowledge | None = None) -> FastAPI:
    """The web app, for one knowledge base (the bundled one when none is given)."""
    app = _App(
        title="Stretchwise",
        version=__version__,
        summary="A stretching routine for neck and back pain, with the reason for every stretch.",
        description=(
            "The JSON API of `stretchwise serve`. Send the answers (format version 1, as the "
            "README documents them), or a completed FHIR R4 QuestionnaireResponse to the Stretchwise "
            "questionnaire, and get the recommendation (format version 1). Nothing is stored."
        ),
        docs_url=None,  # FastAPI's docs pages load their scripts from a CDN; /docs is our own page
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.kb = kb if kb is not None else load_knowledge()
    app.state.static = static_files()
    app.add_middleware(LimitBody, limit=MAX_BODY)
    app.add_exception_handler(AnswersError, refused_page)
    app.add_exception_handler(Exception, _server_error)
    app.include_router(router)
    return app


#: ``serve --workers N`` names the knowledge folder here for its worker processes ("" for the bundled one).
KNOWLEDGE_ENV = "STRETCHWISE_SERVE_KNOWLEDGE"


def serve_app() -> FastAPI:
    """The app in one of ``serve --workers N``'s processes (uvicorn calls it in each):
    its own knowledge base, engine and PDF worker."""
    import os
    import threading

    app = create_app(load_knowledge(os.environ.get(KNOWLEDGE_ENV) or None))
    # uvicorn ends a worker by raising SIGTERM again with its default action once the app has
    # shut down, so no exit handler runs there: the app's own shutdown tidies up instead
    app.state.worker_process = True
    threading.Thread(target=pdfs.warm_up, daemon=True).start()  # the first PDF is not the slow one
    return app
