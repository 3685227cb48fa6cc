"""One library call per job: every face (CLI, web, batch, questionnaire) reads
its input with ``reader.read_answers``, calls one of these, and writes the
result. Nothing here reads or writes anything but its arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import explanation
from .engine import infer
from .errors import AnswersError
from .recommendation import Recommendation
from .routine import assemble

if TYPE_CHECKING:
    from .answers import Answers
    from .knowledge import Knowledge


def recommend(kb: Knowledge, answers: Answers) -> Recommendation:
    """Reason over one person's answers and assemble their recommendation."""
    return assemble(kb, answers, infer(kb, answers))


def explain(kb: Knowledge, answers: Answers, clinician: bool = False) -> dict[str, Any]:
    """Why each stretch was chosen and what the referral rests on (``stretchwise explain``)."""
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    given = answers.model_dump(mode="json", exclude_unset=True)
    return explanation.explanation(kb, inference, rec, given, clinician)


def why_not(kb: Knowledge, answers: Answers, exercise_id: str) -> dict[str, Any]:
    """Why one exercise is, or is not, in the routine (``--why-not``)."""
    if exercise_id not in kb.exercises:
        raise AnswersError(f"--why-not: {unknown_exercise(kb, exercise_id)}")
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    return explanation.why_not(kb, answers, inference, rec, exercise_id)


def unknown_exercise(kb: Knowledge, exercise_id: str) -> str:
    """``no exercise 'x'.``, with the closest ids as a hint."""
    import difflib

    close = difflib.get_close_matches(exercise_id, list(kb.exercises), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else " `stretchwise exercises` lists them."
    return f"no exercise {exercise_id!r}.{hint}"
