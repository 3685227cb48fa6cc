"""One library call per job: every face (CLI, web, batch, questionnaire) reads
its input with ``reader.read_answers``, calls one of these, and writes the
result. Nothing here reads or writes anything but its arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import explanation
from .adjust import adjust
from .engine import infer
from .errors import AnswersError
from .recommendation import Recommendation
from .routine import assemble

if TYPE_CHECKING:
    from .answers import Answers
    from .engine import Inference
    from .knowledge import Knowledge
    from .plan import Plan


def recommend(kb: Knowledge, answers: Answers, plan: Plan | None = None) -> Recommendation:
    """Reason over one person's answers and assemble their recommendation, adjusted by a clinician's plan if given."""
    return _assemble(kb, answers, infer(kb, answers), plan)


def _assemble(kb: Knowledge, answers: Answers, inference: Inference, plan: Plan | None) -> Recommendation:
    """The rules' choice, then the clinician's plan applied to it (issue 21)."""
    rec = assemble(kb, answers, inference)
    return rec if plan is None else adjust(kb, answers, inference, rec, plan)


def explain(kb: Knowledge, answers: Answers, clinician: bool = False, plan: Plan | None = None) -> dict[str, Any]:
    """Why each stretch was chosen and what the referral rests on (``stretchwise explain``)."""
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    given = answers.model_dump(mode="json", exclude_unset=True)
    if plan is None:
        return explanation.explanation(kb, inference, rec, given, clinician)
    adjusted = adjust(kb, answers, inference, rec, plan)
    view = explanation.explanation(kb, inference, adjusted, given, clinician)
    return explanation.with_plan(kb, view, rec, adjusted)


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
