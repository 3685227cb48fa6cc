"""The questionnaire as one HTML form: what the page shows, and how a submitted
form becomes answers.

The form is made from ``content/questions.yaml`` (the same questions the
terminal asks) and read back with the same helpers: ``next_step`` walks the
questions with the skip logic, ``Step.parse`` turns each reply into a value.
Nothing here decides anything about a routine.

A submitted form is a mapping of field name to the list of values sent (a
checkbox group sends several). The names are the step keys of
``recommender.questions``: ``pain``, ``areas``, and ``red_flags:fever`` for one
item of the safety screen, which is asked as its own yes/no question.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from ..answers import Answers, parse_answers
from ..errors import AnswersError
from ..conditions import AnswerTest, AnyOf, NotOf
from ..questions import SECTIONS, Invalid, Question, Step, answers_so_far, next_step

Raw = dict[str, list[str]]

#: Terminal wording in content/questions.yaml, and what the web page says instead.
_TERMINAL_WORDS = [
    (re.compile(r"\s*\(Press Enter to [^)]*\)"), ""),
    (re.compile(r", or press Enter for none\."), "."),
    (re.compile(r"\s*Type the numbers with spaces[^.]*\."), ""),
    (re.compile(r"\s*Answer y or n to each\."), ""),
]


def web_words(text: str) -> str:
    """A question's text without the terminal's instructions (Enter, y or n, numbers)."""
    for pattern, instead in _TERMINAL_WORDS:
        text = pattern.sub(instead, text)
    return text.strip()


@dataclass
class Option:
    """One radio button or checkbox."""

    value: str
    label: str
    id: str
    checked: bool
    when: str = ""  # the choice's ask_when as JSON, for the page's script
    when_note: str = ""  # the same in words, shown when scripts are off


@dataclass
class FieldView:
    """One question on the page, with what the person last sent and any error."""

    key: str  # the form field name (the step key)
    id: str  # the HTML id of its first input
    field: str  # the answers field it fills
    item: str  # for a safety item: the red flag it asks about; else ""
    type: str  # yes_no, number, one_of, any_of, text
    text: str
    help: str
    value: str = ""  # number and text
    options: list[Option] = dataclasses.field(default_factory=list)
    error: str = ""
    optional: bool = False
    default: str = "null"  # JSON, for the script's skip logic
    when: str = ""
    when_note: str = ""
    stops: bool = False  # a yes here means the rest of the questions do not matter


@dataclass
class SectionView:
    id: str
    title: str
    intro: str
    fields: list[FieldView]


# --------------------------------------------------------------------------- reading the form


def parse_form(questions: list[Question], raw: Raw) -> tuple[Answers | None, dict[str, str]]:
    """The answers a submitted form gives, and the error of each field that is wrong.

    Questions the skip logic would not ask are ignored (the field keeps its
    default), as are choices not offered; with scripts on, the page hides and
    disables them itself, so the browser does not send them.

    A form with an error gives no answers, except after a yes on the safety
    screen: then nothing may hold up the advice (issue 17). Every answer that is
    wrong or missing is set aside and named in the errors, the answers take its
    default (or, for a question that has none, its ``STAND_IN``), and a safety
    item sent as both yes and no counts as yes. The caller shows the advice and
    carries none of these answers on (they are not all the person's own).
    """
    given: dict[str, Any] = {}
    errors: dict[str, str] = {}
    stopped = any(
        "yes" in raw.get(f"{q.id}:{c.value}", []) for q in questions if q.ask_each for c in q.choices
    )
    while (step := next_step(questions, given)) is not None:
        try:
            given[step.key] = _read(step, raw, stopped)
        except Invalid as e:
            errors[step.key] = str(e)
            given[step.key] = _fallback(step, stopped)
    if errors and not stopped:
        return None, errors
    try:
        return parse_answers({"version": 1, **answers_so_far(questions, given)}, "the form"), errors
    except AnswersError as e:  # each value passed alone; kept in case fields ever depend on each other
        return None, {p["field"].split(".")[0].split("[")[0]: _sentence(p["message"]) for p in e.problems}


#: What the answers take after a yes on the safety screen for a question that has
#: no default and was left empty or answered wrongly. No safety rule reads these
#: (tests/test_web_red_flags.py checks that none shows in the advice); the page
#: that shows the advice carries no answers on, so no stand-in is ever saved.
STAND_IN: dict[str, Any] = {"areas": ["mid_back"], "pain": 0, "duration_weeks": 0}


def _last(raw: Raw, key: str) -> str:
    """The one value sent for a field; a field sent twice is refused, never resolved by order
    (a second "no" must not hide a "yes" on the safety screen)."""
    values = raw.get(key) or [""]
    if len(values) > 1 and len(set(values)) > 1:
        raise Invalid("This answer was sent more than once with different values; please answer it again.")
    return values[-1]


def _read(step: Step, raw: Raw, stopped: bool) -> Any:
    q = step.question
    if step.type == "yes_no":
        if step.item is not None and stopped and "yes" in raw.get(step.key, []):
            return True  # after a yes, a safety item sent as both yes and no errs toward the advice
        reply = _last(raw, step.key)
        if reply not in ("yes", "no", ""):
            raise Invalid("Please answer yes or no.")
        if not reply and step.item is not None and stopped:
            return False  # after a yes, the rest of the safety screen may be left blank
        if not reply and not step.has_default:
            raise Invalid("Please answer yes or no.")
        return step.parse(reply, q.default, step.has_default)
    if step.type == "one_of":
        reply = _last(raw, step.key)
        if reply and reply not in {c.value for c in step.choices}:
            raise Invalid("Please choose one of the answers shown.")
        if not reply and not step.has_default:
            raise Invalid("Please choose one.")
        return step.parse(reply, q.default, step.has_default)
    if step.type == "any_of":
        offered = [c.value for c in step.choices]
        picked = [v for v in offered if v in set(raw.get(step.key, []))]
        if not picked and not step.has_default:
            raise Invalid("Please choose at least one.")
        if not picked and raw.get(f"{step.key}:asked"):
            return []  # shown and left unticked: none of these (the default is pre-ticked)
        return step.parse(" ".join(picked), q.default, step.has_default)
    reply = _last(raw, step.key)
    if step.type == "number" and not reply.strip() and not step.has_default:
        raise Invalid(f"Please give a number from {q.min} to {q.max}.")
    try:
        return step.parse(reply, q.default, step.has_default)
    except Invalid as e:
        raise Invalid(_sentence(str(e))) from None


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _fallback(step: Step, stopped: bool) -> Any:
    """A stand-in for a value that was wrong, so the skip logic can go on to the next question
    (after a yes on the safety screen, one the answers can be made with)."""
    if step.item is not None:
        return False
    if step.has_default:
        return step.question.default
    if stopped:
        return STAND_IN[step.question.id]
    return [] if step.type == "any_of" else None


# --------------------------------------------------------------------------- filling the form


def raw_from_answers(questions: list[Question], data: dict[str, Any]) -> Raw:
    """Form values that show the given answers (a loaded file, or the answers of a routine)."""
    raw: Raw = {}
    for q in questions:
        if q.id not in data:
            continue
        value = data[q.id]
        if q.ask_each:
            known = {c.value for c in q.choices}
            if not isinstance(value, list) or not set(map(str, value)) <= known:
                continue  # never read a safety screen it cannot make out as "no": leave it to answer
            for c in q.choices:
                raw[f"{q.id}:{c.value}"] = ["yes" if c.value in value else "no"]
        elif isinstance(value, bool):
            raw[q.id] = ["yes" if value else "no"]
        elif isinstance(value, list):
            raw[q.id] = [str(v) for v in value]
        elif value is None:
            raw[q.id] = [""]
        else:
            raw[q.id] = [str(value)]
    return raw


def default_raw(questions: list[Question]) -> Raw:
    """Form values for a fresh form: each question's default; nothing for the required ones."""
    return raw_from_answers(questions, {q.id: q.default for q in questions if q.has_default})


def sections(questions: list[Question], raw: Raw, errors: dict[str, str]) -> list[SectionView]:
    """The page's sections and questions, in the order they are asked."""
    texts = {q.id: web_words(q.text) for q in questions}
    out: dict[str, SectionView] = {}
    for q in questions:
        section = out.setdefault(q.section, SectionView(q.section, SECTIONS[q.section], "", []))
        when, note = _when(q.ask_when, questions, texts)
        if q.ask_each:
            section.intro = web_words(q.text)
            for c in q.choices:
                key = f"{q.id}:{c.value}"
                view = FieldView(
                    key=key,
                    id=_id(key),
                    field=q.id,
                    item=c.value,
                    type="yes_no",
                    text=c.text or c.label,
                    help=c.help or "",
                    error=errors.get(key, ""),
                    when=when,
                    when_note=note,
                    stops=True,
                )
                view.options = _options(view, [("yes", "Yes", []), ("no", "No", [])], raw, questions, texts)
                section.fields.append(view)
            continue
        view = FieldView(
            key=q.id,
            id=_id(q.id),
            field=q.id,
            item="",
            type=q.type,
            text=texts[q.id],
            help=web_words(q.help),
            value=(raw.get(q.id) or [""])[-1],
            error=errors.get(q.id, ""),
            optional=q.has_default and q.default in (None, ""),
            default=json.dumps(q.default) if q.has_default else "null",
            when=when,
            when_note=note,
        )
        if q.type == "yes_no":
            choices: list[tuple[str, str, list[Any]]] = [("yes", "Yes", []), ("no", "No", [])]
        else:
            choices = [(c.value, c.label, list(c.ask_when)) for c in q.choices]
        view.options = _options(view, choices, raw, questions, texts)
        section.fields.append(view)
    return list(out.values())


def _options(
    view: FieldView,
    choices: list[tuple[str, str, list[Any]]],
    raw: Raw,
    questions: list[Question],
    texts: dict[str, str],
) -> list[Option]:
    sent = set(raw.get(view.key, []))
    options = []
    for value, label, ask_when in choices:
        when, note = _when(ask_when, questions, texts)
        options.append(Option(value, label, f"{view.id}-{_slug(value)}", value in sent, when, note))
    return options


def _id(key: str) -> str:
    return "q-" + _slug(key)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --------------------------------------------------------------------------- skip logic for the page


def condition_json(cond: Any) -> Any:
    """An ask_when condition as plain data for the page's script."""
    if isinstance(cond, AnyOf):
        return {"any": [condition_json(c) for c in cond.any]}
    if isinstance(cond, NotOf):
        return {"not": condition_json(cond.not_)}
    assert isinstance(cond, AnswerTest)
    return {"answer": cond.answer, "test": cond.test, "values": cond.values()}


def _when(conditions: list[Any], questions: list[Question], texts: dict[str, str]) -> tuple[str, str]:
    if not conditions:
        return "", ""
    data = json.dumps([condition_json(c) for c in conditions])
    words = " and ".join(_words(c, questions, texts) for c in conditions)
    return data, f"Only applies if {words}."


def _words(cond: Any, questions: list[Question], texts: dict[str, str]) -> str:
    """A condition in the words of the page: the question it looks at, and the answer."""
    if isinstance(cond, AnyOf):
        return " or ".join(_words(c, questions, texts) for c in cond.any)
    if isinstance(cond, NotOf):
        return "not: " + _words(cond.not_, questions, texts)
    q = next(q for q in questions if q.id == cond.answer)
    asked = f"“{texts[q.id].split('?')[0]}?”"
    labels = {c.value: c.label for c in q.choices}
    vals = [labels.get(str(v), v) for v in cond.values()]
    if cond.test in ("includes", "includes_any", "one_of"):
        chosen = " or ".join(f"“{v}”" for v in vals)
        return f"you chose {chosen} for {asked}"
    if cond.test == "is" and isinstance(vals[0], bool):
        return f"you answered {'yes' if vals[0] else 'no'} to {asked}"
    if cond.test == "is":
        return f"you chose “{vals[0]}” for {asked}"
    bound = {
        "at_least": "{} or more",
        "at_most": "{} or less",
        "more_than": "more than {}",
        "less_than": "less than {}",
    }
    return f"your answer to {asked} is {bound[cond.test].format(vals[0])}"
