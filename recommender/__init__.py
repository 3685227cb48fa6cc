"""Stretchwise: a stretching routine for neck and back pain, with its reasons."""

from __future__ import annotations

__version__ = "0.1.0"

from .answers import Answers, load_answers
from .errors import AnswersError, EngineError, KnowledgeError, StretchwiseError
from .knowledge import Knowledge, load_knowledge
from .render import RENDERERS, render
from .routine import Recommendation, build_routine

__all__ = [
    "RENDERERS",
    "Answers",
    "AnswersError",
    "EngineError",
    "Knowledge",
    "KnowledgeError",
    "Recommendation",
    "StretchwiseError",
    "build_routine",
    "load_answers",
    "load_knowledge",
    "render",
]
