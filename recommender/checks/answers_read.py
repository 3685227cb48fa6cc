"""Every answer the questionnaire offers leads somewhere (issue 15, class 4).

A person who reports something (a posture, a symptom, a condition) should see
it change the routine or its why. ``check_answers_read`` lists every value the
questionnaire offers that no rule reads:

- a choice of a one-of or any-of question (``posture: swayback``), read when a
  rule's test names it (``is``, ``one_of``, ``includes``, ``includes_any``,
  also under ``not`` or inside ``any``);
- a yes/no question, read when a rule tests it (then both answers count: the
  one that fires a rule and the one that does not);
- a number question, read when a rule tests it at all.

A field's default (``stress: low``, ``numbness_or_tingling: none``) is the
baseline, "nothing to report", and counts as read once a rule tests the field.

Where a value deliberately changes nothing, ``DELIBERATELY_UNREAD`` says why;
those come back as notes. An unread value that is not listed there is an
error, and so is a listed value that a rule now reads (the list went stale).
"""

from __future__ import annotations

from typing import Any

from ..answers import Answers, field_choices, field_kind
from ..conditions import AnswerTest, condition_tests
from ..knowledge import Knowledge

#: (field, value) -> why the answer deliberately changes nothing; value None means the whole field.
DELIBERATELY_UNREAD: dict[tuple[str, Any], str] = {
    ("name", None): "printed at the top of the sheet and nowhere else",
    ("minutes", None): "sets the time the routine may take (the routine's budget), not what is called for",
}


def _read(kb: Knowledge) -> dict[str, set[Any]]:
    """For each answers field that some rule tests, the values the tests name."""
    read: dict[str, set[Any]] = {}
    for rule in kb.rules:
        for cond in rule.when:
            for test in condition_tests(cond):
                if isinstance(test, AnswerTest):
                    read.setdefault(test.answer, set()).update(test.values())
    return read


def _offered(kb: Knowledge) -> list[tuple[str, Any]]:
    """Every (field, value) the questionnaire offers; None stands for a number or text field as a whole."""
    out: list[tuple[str, Any]] = []
    for q in kb.questions:
        if q.type in ("one_of", "any_of"):
            out += [(q.id, c.value) for c in q.choices]
        elif q.type == "yes_no":
            out += [(q.id, True), (q.id, False)]
        else:
            out.append((q.id, None))
    return out


def _default_items(field: str) -> set[Any]:
    default = Answers.model_fields[field].default
    if field_kind(field) == "list":
        return set()  # an item of a list is read or not on its own; the default list is no baseline
    return {default}


def _is_read(field: str, value: Any, read: dict[str, set[Any]]) -> bool:
    if field not in read:
        return False
    if value is None or field_kind(field) == "bool":
        return True
    return value in read[field] or value in _default_items(field)


def check_answers_read(kb: Knowledge) -> tuple[list[str], list[str]]:
    """Problems (an offered answer no rule reads, a stale entry) and notes (the deliberate ones)."""
    where = "content/questions.yaml"
    read = _read(kb)
    problems: list[str] = []
    notes: list[str] = []
    offered = _offered(kb)
    for field, value in offered:
        label = f"{field}" if value is None else f"{field} {str(value).lower() if isinstance(value, bool) else value}"
        reason = DELIBERATELY_UNREAD.get((field, value))
        if _is_read(field, value, read):
            if reason is not None:
                problems.append(
                    f"answers: {label!r} is listed as deliberately unread (checks/answers_read.py), but a rule reads it"
                )
            continue
        if reason is not None:
            notes.append(f"answers: {label!r} is read by no rule, deliberately: {reason}")
        else:
            problems.append(
                f"{where}: question {field!r} offers {label!r}, which no rule reads: add a rule that reads it,"
                " or say why it changes nothing in DELIBERATELY_UNREAD (checks/answers_read.py)"
            )
    known = set(offered)
    for field, value in DELIBERATELY_UNREAD:
        valid = field in Answers.model_fields and (value is None or value in field_choices(field))
        if not valid or (field, value) not in known:
            problems.append(f"checks/answers_read.py: DELIBERATELY_UNREAD names {field!r} {value!r}, which is not offered")
    return problems, notes
