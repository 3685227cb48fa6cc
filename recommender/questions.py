"""The questions (``content/questions.yaml``): their model, the order they are
asked in, and how a typed reply becomes an answer.

Nothing here reads or writes a terminal (that is ``questionnaire.py``), so the
web form can walk the same steps. A *step* is one thing asked: a question, or
one item of an ``ask_each`` question (the safety screen asks each red flag as
its own yes/no question). Progress is the ordered list of ``(step key, value)``
pairs answered so far; ``next_step`` finds what to ask next from it, so skip
logic and going back need no other state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .answers import Answers, parse_answers
from .conditions import AnswerTest, Condition, Strict, condition_tests, holds
from .errors import AnswersError

#: Sections in the order they are asked: the safety screen comes right after
#: the three questions that describe the pain, before anything about exercise.
SECTIONS: dict[str, str] = {
    "pain": "Your pain",
    "safety": "Safety first",
    "symptoms": "How it behaves",
    "daily_life": "Your day",
    "routine": "Your routine",
    "about_you": "About you",
    "check_in": "Since last time",  # a follow-up visit only (issue 20)
}
Section = Literal["pain", "safety", "symptoms", "daily_life", "routine", "about_you", "check_in"]
QuestionType = Literal["yes_no", "number", "one_of", "any_of", "text"]
#: The question type each kind of answers field needs.
TYPE_OF_KIND = {"bool": "yes_no", "int": "number", "choice": "one_of", "list": "any_of"}
Text = Annotated[str, Field(min_length=1, max_length=600)]
Default = bool | int | str | list[str] | None


class Choice(Strict):
    value: str
    label: Text
    text: Text | None = Field(None, description="With ask_each: this choice as a yes/no question.")
    help: Text | None = None
    ask_when: list[Condition] = Field([], description="Offered only when these hold.")


class Question(Strict):
    """One question of the questionnaire; ``id`` is the answers field it fills."""

    id: str
    section: Section
    type: QuestionType
    text: Text
    help: Text
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    choices: list[Choice] = []
    ask_each: bool = False
    default: Default = None
    ask_when: list[Condition] = []
    follow_up: bool = Field(False, description="Asked only on a follow-up visit: the check-in (issue 20).")

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        t = self.type
        if (t == "number") != (self.min is not None and self.max is not None) or (
            t != "number" and (self.min is not None or self.max is not None)
        ):
            raise ValueError("min and max go with type number, and a number needs both")
        if (self.max_length is not None) != (t == "text"):
            raise ValueError("max_length goes with type text, and text needs it")
        if (t in ("one_of", "any_of")) != bool(self.choices):
            raise ValueError("choices go with one_of and any_of, and those need them")
        values = [c.value for c in self.choices]
        if len(set(values)) != len(values):
            raise ValueError("a choice value is listed twice")
        if self.ask_each and t != "any_of":
            raise ValueError("ask_each goes with any_of only")
        if any((c.text is not None) != self.ask_each for c in self.choices):
            raise ValueError(
                "with ask_each every choice needs a text (its yes/no question); without, none has one"
            )
        if self.follow_up != (self.section == "check_in"):
            raise ValueError("follow_up goes with section check_in, and that section needs it")
        if self.has_default and not _fits(self, self.default):
            raise ValueError(f"default {self.default!r} is not a valid {t} answer here")
        for cond in [*self.ask_when, *(c for ch in self.choices for c in ch.ask_when)]:
            for test in condition_tests(cond):
                if not isinstance(test, AnswerTest):
                    # pydantic reports a ValueError as a validation error naming the field
                    message = "ask_when tests earlier answers only (answer, any, not), not findings"
                    raise ValueError(message)  # noqa: TRY004
        return self


def _fits(q: Question, value: Any) -> bool:
    values = {c.value for c in q.choices}
    return {
        "yes_no": lambda: isinstance(value, bool),
        "number": lambda: (
            (value is None and q.has_default and q.default is None)
            or (
                isinstance(value, int)
                and not isinstance(value, bool)
                and q.min is not None
                and q.max is not None
                and q.min <= value <= q.max
            )
        ),
        "one_of": lambda: value in values or (value is None and q.has_default and q.default is None),
        "any_of": lambda: isinstance(value, list) and set(value) <= values,
        "text": lambda: isinstance(value, str),
    }[q.type]()


# --------------------------------------------------------------------------- steps


class Invalid(ValueError):
    """A reply that is not a valid answer; the message is the short reason."""


@dataclass(frozen=True)
class Step:
    """One thing to ask: a question, or one item of an ``ask_each`` question."""

    question: Question
    item: Choice | None  # the choice asked as yes/no, for ask_each
    choices: tuple[Choice, ...]  # the choices offered (their ask_when held)
    first_item: bool = False

    @property
    def key(self) -> str:
        return self.question.id if self.item is None else f"{self.question.id}:{self.item.value}"

    @property
    def type(self) -> str:
        return "yes_no" if self.item is not None else self.question.type

    @property
    def text(self) -> str:
        return self.item.text or "" if self.item is not None else self.question.text

    @property
    def help(self) -> str:
        return self.item.help or self.question.help if self.item is not None else self.question.help

    @property
    def has_default(self) -> bool:
        return self.item is None and self.question.has_default

    def hint(self) -> str:
        """What kind of reply is expected, in a few words."""
        q = self.question
        if self.type == "yes_no":
            return "y/n"
        if self.type == "number":
            return f"{q.min}-{q.max}"
        if self.type == "one_of":
            return f"1-{len(self.choices)}"
        if self.type == "any_of":
            return "numbers" if self.has_default else "one or more numbers"
        return "text"

    def show(self, value: Any) -> str:
        """A value as the reply that would give it (for the [default] shown)."""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if value is None or value == "" or value == []:
            return "skip" if self.type in ("number", "text") else "none"
        if self.type == "one_of":
            return str(self._numbers().get(value, value))
        if isinstance(value, list):
            return " ".join(str(self._numbers().get(v, v)) for v in value)
        return str(value)

    def _numbers(self) -> dict[str, int]:
        return {c.value: i for i, c in enumerate(self.choices, 1)}

    def parse(self, reply: str, default: Any = None, has_default: bool = False) -> Any:
        """A typed reply as a value; Enter takes the default. Raises Invalid with a short reason."""
        text = " ".join(reply.split())
        if not text:
            if has_default:
                return default
            raise Invalid("this one needs an answer" + (" (y or n)" if self.type == "yes_no" else ""))
        value = self._convert(text)
        return self.accept(value)

    def _convert(self, text: str) -> Any:
        q, low = self.question, text.lower()
        if self.type == "yes_no":
            if low in ("y", "yes"):
                return True
            if low in ("n", "no"):
                return False
            raise Invalid("please answer y or n")
        if self.type == "number":
            if not re.fullmatch(r"[+-]?\d{1,6}", text):
                raise Invalid(f"please type a whole number from {q.min} to {q.max}")
            return int(text)
        if self.type == "text":
            return text
        if self.type == "any_of" and low in ("none", "-", "0"):
            return []
        picked = self._choices(low)
        if self.type == "one_of":
            if len(picked) != 1:
                raise Invalid(f"please choose just one number from 1 to {len(self.choices)}")
            return picked[0]
        return list(dict.fromkeys(picked))

    def _names(self) -> dict[str, str]:
        """Every way a person may name a choice: its number, its id, its shown label, and the
        label's head before a comma ("upper back" for "Upper back, between the shoulder blades")."""
        names: dict[str, str] = {}
        for i, c in enumerate(self.choices, 1):
            label = _plain(c.label)
            for name in (str(i), c.value, _plain(c.value), label, label.split(",")[0].strip()):
                names.setdefault(name, c.value)
            for article in ("a ", "an ", "the ", "my "):  # "chair" for "A sturdy chair or stool" is too loose;
                if label.startswith(article):  # "sturdy chair or stool" is not
                    names.setdefault(label[len(article):], c.value)
        return names

    def _choices(self, text: str) -> list[str]:
        """The choices a reply names: numbers, ids or shown labels, separated by spaces or commas."""
        names = self._names()
        whole = _plain(text)
        if whole in names:
            return [names[whole]]
        picked: list[str] = []
        for part in (p for p in re.split(r"[,;]+", text) if p.strip()):
            if _plain(part) in names:
                picked.append(names[_plain(part)])
                continue
            for word in part.split():
                found = names.get(word) or names.get(word.replace("-", "_"))
                if found is None:
                    raise Invalid(
                        f"{word!r} is not one of the choices: type its number (1 to {len(self.choices)})"
                        " or its name as shown"
                    )
                picked.append(found)
        return picked

    def accept(self, value: Any) -> Any:
        """Check a value (typed, or read from a progress file) against the question and the answers model."""
        if self.item is not None:
            if not isinstance(value, bool):
                raise Invalid("please answer y or n")
            return value
        q = self.question
        if not _fits(q, value):
            if q.type == "number" and isinstance(value, int) and not isinstance(value, bool):
                raise Invalid(f"please give a number from {q.min} to {q.max}")
            raise Invalid(f"not a valid answer to this question ({value!r})")
        if q.type in ("one_of", "any_of"):
            offered = {c.value for c in self.choices}
            if any(v not in offered for v in (value if isinstance(value, list) else [value])):
                raise Invalid("that choice is not offered here")
        try:
            parse_answers({**PLACEHOLDER, q.id: value}, "answer")
        except AnswersError as e:
            reason = str(e).splitlines()[0].split(": ", 2)[-1]
            if reason == "must list at least one item":
                reason = "please choose at least one"
            elif reason.startswith("must"):
                reason = f"it {reason}"
            raise Invalid(reason) from None
        return value


#: Valid answers to lay a single value over, to check it with the answers model.
PLACEHOLDER: dict[str, Any] = {"areas": ["neck"], "pain": 0, "duration_weeks": 0, "red_flags": []}


def _plain(text: str) -> str:
    """A name as typed or shown, compared loosely: lower case, single spaces, no end punctuation."""
    return " ".join(text.lower().replace("_", " ").split()).strip(" .!?")


def answers_so_far(questions: list[Question], given: dict[str, Any]) -> dict[str, Any]:
    """The answers fields filled by the steps answered (keyed by step key), in question order."""
    out: dict[str, Any] = {}
    for q in questions:
        if q.ask_each:
            items = [c for c in q.choices if f"{q.id}:{c.value}" in given]
            if items:
                out[q.id] = [c.value for c in items if given[f"{q.id}:{c.value}"] is True]
        elif q.id in given:
            out[q.id] = given[q.id]
    return out


def _with_defaults(questions: list[Question], given: dict[str, Any]) -> dict[str, Any]:
    """The answers so far, with what a skipped field means (its default) for the conditions."""
    defaults = {
        name: f.default
        for name, f in Answers.model_fields.items()
        if not f.is_required() and name != "version"
    }
    return {**defaults, **answers_so_far(questions, given)}


def next_step(questions: list[Question], given: dict[str, Any]) -> Step | None:
    """The first step not yet answered whose conditions hold, or None when all are done."""
    for q in questions:
        seen = _with_defaults(questions, given)
        if not all(holds(c, seen) for c in q.ask_when):
            continue
        offered = tuple(c for c in q.choices if all(holds(cond, seen) for cond in c.ask_when))
        if q.ask_each:
            for i, item in enumerate(offered):
                if f"{q.id}:{item.value}" not in given:
                    return Step(q, item, offered, first_item=i == 0)
        elif q.id not in given:
            return Step(q, None, offered)
    return None


def _assumed(step: Step) -> Any:
    """A stand-in reply, to look ahead at which questions a person will meet: the default,
    no to a safety item, or a middle value (the real reply may add or skip a few)."""
    q = step.question
    if step.item is not None:
        return False
    if q.has_default:
        return q.default
    if q.type == "number":
        return ((q.min or 0) + (q.max if q.max is not None else 10)) // 2
    if q.type in ("one_of", "any_of") and step.choices:
        first = step.choices[0].value
        return first if q.type == "one_of" else [first]
    return ""


def steps_ahead(questions: list[Question], given: dict[str, Any]) -> int:
    """How many more steps this person will be asked, if the rest of the replies are the usual ones."""
    seen, count = dict(given), 0
    while (step := next_step(questions, seen)) is not None and count < 10 * len(questions) + 100:
        seen[step.key] = _assumed(step)
        count += 1
    return count

