"""The questionnaire (``content/questions.yaml``) against the answers format, and
the README's answers table made from it (so the two cannot drift)."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from ..answers import Answers, field_choices, field_kind, parse_answers
from ..conditions import AnyOf, NotOf, condition_tests
from ..content import LEVELS
from ..errors import AnswersError
from ..knowledge import Knowledge
from ..pipeline import recommend
from ..questions import PLACEHOLDER, SECTIONS, TYPE_OF_KIND, Question


def check_questions(kb: Knowledge) -> list[str]:
    """The questions against the answers model: each field asked once, with the same choices and bounds."""
    questions: list[Question] = kb.questions + kb.check_in  # the check-in is asked last, on a follow-up
    where = "content/questions.yaml"
    problems: list[str] = []
    fields = [f for f in Answers.model_fields if f != "version"]
    ids = [q.id for q in questions]
    for f in fields:
        if ids.count(f) != 1:
            problems.append(
                f"{where}: answers field {f!r} has {ids.count(f) or 'no'} question(s); it needs exactly one"
            )
    order = list(SECTIONS)
    asked: set[str] = set()
    last_section = 0
    for q in questions:
        at = f"{where}: question {q.id!r}"
        if q.id not in fields:
            problems.append(f"{at}: not a field of the answers format")
            asked.add(q.id)
            continue
        model = Answers.model_fields[q.id]
        want = "text" if model.annotation is str else TYPE_OF_KIND[field_kind(q.id)]
        if q.type != want:
            problems.append(f"{at}: type is {q.type}, but the answers field needs {want}")
        if q.choices or want in ("one_of", "any_of"):
            allowed, offered = set(map(str, field_choices(q.id))), {c.value for c in q.choices}
            if allowed != offered:
                detail = "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(sorted(allowed - offered))}" if allowed - offered else "",
                        f"not a value of the field: {', '.join(sorted(offered - allowed))}"
                        if offered - allowed
                        else "",
                    )
                    if part
                )
                problems.append(f"{at}: choices differ from the answers format ({detail})")
        low, high, longest = _bounds(model.metadata)
        if q.type == "number" and (q.min, q.max) != (low, high):
            problems.append(f"{at}: min/max {q.min}..{q.max}, but the answers format allows {low}..{high}")
        if q.type == "text" and q.max_length != longest:
            problems.append(f"{at}: max_length {q.max_length}, but the answers format allows {longest}")
        if model.is_required():
            if q.has_default:
                problems.append(f"{at}: a required field has no default (the person must answer)")
            if q.ask_when:
                problems.append(f"{at}: a required field is always asked (no ask_when)")
        elif not q.has_default or q.default != model.default:
            problems.append(f"{at}: default must be the answers format's default, {model.default!r}")
        conditions = [*q.ask_when, *(c for ch in q.choices for c in ch.ask_when)]
        for test in (t for c in conditions for t in condition_tests(c)):
            if test.answer not in asked:
                problems.append(f"{at}: ask_when tests {test.answer!r}, which is not asked before it")
        section = order.index(q.section)
        if section < last_section:
            problems.append(
                f"{at}: section {q.section} comes after {order[last_section]};"
                f" keep {', '.join(order)} in order"
            )
        last_section = max(last_section, section)
        asked.add(q.id)
    return problems + _stop_order(kb)


def _bounds(metadata: list[Any]) -> tuple[int | None, int | None, int | None]:
    low = high = longest = None
    for m in metadata:
        low = getattr(m, "ge", low)
        high = getattr(m, "le", high)
        longest = getattr(m, "max_length", longest)
    return low, high, longest


def _stop_order(kb: Knowledge) -> list[str]:
    """ask_each items stop the questionnaire at the first yes, so the most urgent must come first."""
    problems = []
    for q in kb.questions:
        if not q.ask_each or q.id not in Answers.model_fields:
            continue
        levels = []
        for c in q.choices:
            answers = {**PLACEHOLDER, "areas": list(field_choices("areas")), q.id: [c.value]}
            try:
                levels.append((c.value, recommend(kb, parse_answers(answers, "check")).referral.level))
            except AnswersError:
                continue
        for (a, la), (b, lb) in pairwise(levels):
            if LEVELS.index(lb) > LEVELS.index(la):
                problems.append(
                    f"content/questions.yaml: question {q.id!r}: {b!r} ({lb}) is asked after {a!r} ({la});"
                    " the questionnaire stops at the first yes, so ask the most urgent first"
                )
    return problems




def answers_table(questions: list[Question]) -> str:
    """The README's table of the answers format, made from the questions (so the two cannot drift)."""
    rows = ["| field | type | default | asked as |", "|---|---|---|---|"]
    rows.append("| `version` | `1` | `1` | (written by the questionnaire) |")
    by_id = {q.id: q for q in questions}
    for name in Answers.model_fields:
        q = by_id.get(name)
        if q is None:
            continue
        values = ", ".join(f"`{c.value}`" for c in q.choices)
        kind = {
            "yes_no": "true/false",
            "number": f"{q.min}..{q.max}" + (" or null" if q.has_default and q.default is None else ""),
            "one_of": values,
            "any_of": ("one or more of " if _min_items(name) else "any of ") + values,
            "text": f"text, ≤ {q.max_length} characters",
        }[q.type]
        shown = q.default if isinstance(q.default, str) and q.default else json.dumps(q.default)
        default = "required" if not q.has_default else "null" if q.default is None else f"`{shown}`"
        asked = q.text
        if q.ask_each:
            asked = "Each choice is asked as its own yes/no question, in this order;"
            asked += " the first yes stops the questionnaire."
        if Answers.model_fields[name].is_required() and q.type == "any_of" and not _min_items(name):
            asked += " Write `[]` when none apply."
        when = [f" *Asked when {' and '.join(_words(c) for c in q.ask_when)}.*"] if q.ask_when else []
        when += [
            f" *`{c.value}` offered when {' and '.join(_words(x) for x in c.ask_when)}.*"
            for c in q.choices
            if c.ask_when
        ]
        rows.append(f"| `{name}` | {kind} | {default} | {asked}{''.join(when)} |")
    return "\n".join(rows) + "\n"


def _min_items(name: str) -> int:
    return max([getattr(m, "min_length", 0) or 0 for m in Answers.model_fields[name].metadata] + [0])


def _words(cond: Any) -> str:
    if isinstance(cond, AnyOf):
        return "(" + " or ".join(_words(c) for c in cond.any) + ")"
    if isinstance(cond, NotOf):
        return f"not {cond.not_.describe()}"
    return str(cond.describe())
