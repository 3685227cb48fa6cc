"""One library call per job: every face (CLI, web, batch, questionnaire) reads
its input with ``reader.read_answers``, calls one of these, and writes the
result. Nothing here reads or writes anything but its arguments.

The order is always the same: the rules' choice, then (at a follow-up) what
the two visits say together, then (with a plan) the clinician's hand, last."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import explanation
from . import follow_up as _follow_up
from .adjust import adjust
from .engine import infer
from .errors import AnswersError
from .recommendation import Recommendation
from .routine import assemble

if TYPE_CHECKING:
    from .answers import Answers
    from .knowledge import Knowledge
    from .plan import Plan


def recommend(kb: Knowledge, answers: Answers, plan: Plan | None = None) -> Recommendation:
    """Reason over one person's answers and assemble their recommendation, adjusted by a clinician's plan if given."""
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    return rec if plan is None else adjust(kb, answers, inference, rec, plan)


def follow_up(
    kb: Knowledge, earlier: Answers, now: Answers, weeks: int = _follow_up.DEFAULT_WEEKS, plan: Plan | None = None
) -> Recommendation:
    """The follow-up visit (``stretchwise follow-up``): NOW's recommendation, shaped by the two visits
    together, then adjusted by a clinician's plan if given."""
    inference = infer(kb, now)
    rec = _follow_up.follow_up(kb, earlier, now, weeks, inference)
    return rec if plan is None else adjust(kb, now, inference, rec, plan)


def explain(
    kb: Knowledge,
    answers: Answers,
    clinician: bool = False,
    earlier: Answers | None = None,
    weeks: int = _follow_up.DEFAULT_WEEKS,
    plan: Plan | None = None,
) -> dict[str, Any]:
    """Why each stretch was chosen and what the referral rests on (``stretchwise explain``);
    with ``earlier``, for a follow-up visit: the verdict and each change too; with ``plan``,
    the rules' choice and then each adjustment."""
    inference = infer(kb, answers)
    if earlier is not None:
        rec = _follow_up.follow_up(kb, earlier, answers, weeks, inference)
    else:
        rec = assemble(kb, answers, inference)
    given = answers.model_dump(mode="json", exclude_unset=True)
    adjusted = rec if plan is None else adjust(kb, answers, inference, rec, plan)
    view = explanation.explanation(kb, inference, adjusted, given, clinician)
    if adjusted.follow_up is not None:
        view["follow_up"] = explanation.follow_up_view(kb, adjusted, clinician)
    return view if plan is None else explanation.with_plan(kb, view, rec, adjusted)


def why_not(
    kb: Knowledge, answers: Answers, exercise_id: str, earlier: Answers | None = None, weeks: int = _follow_up.DEFAULT_WEEKS
) -> dict[str, Any]:
    """Why one exercise is, or is not, in the routine (``--why-not``); with ``earlier``, at a follow-up."""
    if exercise_id not in kb.exercises:
        raise AnswersError(f"--why-not: {unknown_exercise(kb, exercise_id)}")
    inference = infer(kb, answers)
    if earlier is None:
        return explanation.why_not(kb, answers, inference, assemble(kb, answers, inference), exercise_id)
    rec = _follow_up.follow_up(kb, earlier, answers, weeks, inference)
    return explanation.follow_up_why_not(kb, answers, inference, rec, exercise_id)


def unknown_exercise(kb: Knowledge, exercise_id: str) -> str:
    """``no exercise 'x'.``, with the closest ids as a hint."""
    import difflib

    close = difflib.get_close_matches(exercise_id, list(kb.exercises), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else " `stretchwise exercises` lists them."
    return f"no exercise {exercise_id!r}.{hint}"
