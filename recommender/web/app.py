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

from ..knowledge import Knowledge, load_knowledge
from ..version import __version__
from .guard import MAX_BODY, LimitBody, SecurityHeaders
from . import pdfs
from ..errors import AnswersError
from .routes import refused_page, router, static_files


class _App(FastAPI):
    """The security headers go around everything, Starlette's own error handling included,
    so a 500 carries them too."""

    def build_middleware_stack(self) -> Any:
        return SecurityHeaders(super().build_middleware_stack())


async def _server_error(request: Request, exc: Exception) -> PlainTextResponse:
    """A bug: a short page, never a traceback, and the security headers as always."""
    return PlainTextResponse("Something went wrong on our side; nothing was kept. Please try again.\n", 500)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    pdfs.shutdown()  # the PDF worker process ends with the app


def create_app(kb: Knowledge | None = None) -> FastAPI:
    """The web app, for one knowledge base (the bundled one when none is given)."""
    app = _App(
        title="Stretchwise",
        version=__version__,
        summary="A stretching routine for neck and back pain, with the reason for every stretch.",
        description=(
            "The JSON API of `stretchwise serve`. Send the answers (format version 1, as the "
            "README documents them) and get the recommendation (format version 1). Nothing is stored."
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
    threading.Thread(target=pdfs.warm_up, daemon=True).start()  # the first PDF is not the slow one
    return app
