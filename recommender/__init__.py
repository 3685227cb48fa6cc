"""Stretchwise: a stretching routine for neck and back pain, with its reasons.

The public API, imported lazily (a module ``__getattr__``), so that
``stretchwise --help`` and a usage error load no pydantic model:

    kb = load_knowledge()
    answers = load_answers("answers.yaml", kb)     # or read_answers(raw, label, kb)
    rec = recommend(kb, answers)
    print(render(rec, "text"))
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__

#: Each public name and the module that defines it.
_EXPORTS = {
    "Answers": "answers",
    "AnswersError": "errors",
    "EngineError": "errors",
    "KnowledgeError": "errors",
    "StretchwiseError": "errors",
    "Knowledge": "knowledge",
    "load_knowledge": "knowledge",
    "load_answers": "reader",
    "read_answers": "reader",
    "Recommendation": "routine",
    "recommend": "pipeline",
    "explain": "pipeline",
    "why_not": "pipeline",
    "RENDERERS": "render",
    "render": "render",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'recommender' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
