"""The one reader of answers: raw bytes or text from any face, to ``Answers``.

Every face calls it: the CLI (a file or stdin), the web (the API body, the
answers a routine page carries, an uploaded file), batch (one line), the
questionnaire (its resume file) and a FHIR QuestionnaireResponse wherever
answers are accepted. So a repeated key, an over-deep document, a NUL byte or
non-UTF-8 input is refused the same way everywhere, with one error shape:
``AnswersError`` whose message names the input and whose ``problems`` name
each field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import reading
from .answers import Answers, parse_answers
from .errors import AnswersError, PlanError

if TYPE_CHECKING:
    from .knowledge import Knowledge
    from .plan import Plan

LIMITS = reading.ANSWERS


def read_document(raw: bytes | str, label: str, json_only: bool = False, what: str = "file") -> dict[str, Any]:
    """Strictly read a document of answers (or a resume file) as a mapping, without validating it.

    ``json_only`` refuses YAML (the API body, a batch line); ``what`` names the
    input in the message for an empty one: file, line or body.
    """
    if isinstance(raw, bytes):
        text = reading.decode(raw, label, LIMITS)
    elif "\x00" in raw:
        raise AnswersError(f"{label}: binary data, not text")
    else:
        text = raw
    if not text.strip():
        expected = "one JSON object of answers" if json_only else "answers in YAML or JSON"
        raise AnswersError(f"{label}: empty {what}; expected {expected}")
    if json_only:
        data = reading.load_json(text.lstrip("\ufeff"), label, LIMITS)
    else:
        data = reading.load(text, label, LIMITS)
    if not isinstance(data, dict):
        if data is None:
            raise AnswersError(f"{label}: empty file (only comments); expected answers in YAML or JSON")
        raise AnswersError(f"{label}: expected a mapping of answers at the top level, found a {type(data).__name__}")
    return data


def answers_from(data: dict[str, Any], label: str, kb: Knowledge) -> Answers:
    """A document already read strictly, as answers: the v1 format, or a FHIR QuestionnaireResponse."""
    if "resourceType" in data:
        from .fhir_response import from_response  # imported when needed: a CLI start without it is faster

        return from_response(data, label, kb)
    return parse_answers(data, label)


def read_answers(
    raw: bytes | str, label: str, kb: Knowledge, json_only: bool = False, what: str = "file"
) -> Answers:
    """Raw input to validated answers, or ``AnswersError`` naming ``label`` and the field."""
    return answers_from(read_document(raw, label, json_only, what), label, kb)


def read_input(
    path: str, what: str = "an answers file", error: type[AnswersError] = AnswersError
) -> tuple[bytes, str]:
    """The bytes of a file (``-`` for stdin), at most one byte past the limit; returns (bytes, label)."""
    limit = LIMITS.max_bytes + 1
    if path == "-":
        return sys.stdin.buffer.read(limit), "<stdin>"
    p = Path(path)
    try:
        if p.is_dir():
            raise error(f"{path}: is a directory, not {what}")
        with p.open("rb") as fh:
            return fh.read(limit), path
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except PermissionError:
        raise error(f"{path}: permission denied") from None
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror}") from None


def load_answers(path: str, kb: Knowledge) -> Answers:
    """Read and validate an answers file (YAML, JSON or a FHIR QuestionnaireResponse; ``-`` is stdin)."""
    raw, label = read_input(path)
    return read_answers(raw, label, kb)


def read_plan(raw: bytes | str, label: str, kb: Knowledge) -> Plan:
    """Raw input to a validated clinician's plan (issue 21), read as strictly as answers.

    ``PlanError`` names ``label``, the entry (``add chin_tuck``) and the field.
    """
    from .plan import parse_plan

    if isinstance(raw, bytes):
        text = reading.decode(raw, label, LIMITS, PlanError)
    elif "\x00" in raw:
        raise PlanError(f"{label}: binary data, not text")
    else:
        text = raw
    if not text.strip():
        raise PlanError(f"{label}: empty file; expected a clinician's plan in YAML or JSON")
    return parse_plan(reading.load(text, label, LIMITS, PlanError), label, kb)


def load_plan(path: str, kb: Knowledge) -> Plan:
    """Read and validate a clinician's plan file (``-`` is stdin)."""
    raw, label = read_input(path, "a plan file", PlanError)
    return read_plan(raw, label, kb)
