"""Conditions: the tests a rule (or a question's ``ask_when``) makes on answers and findings.

A condition is one of four shapes, told apart by its key: ``answer`` (a test
on one answers field), ``finding`` (a finding has been derived), ``any`` (one
of several conditions) and ``not`` (an answer test that must not hold). The
strict base model that every knowledge model shares lives here too.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from .answers import Answers, field_choices, field_kind

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=80)]
Text = Annotated[str, Field(min_length=1, max_length=600)]


class Strict(BaseModel):
    """The base of every knowledge model: unknown keys are errors, nothing is coerced, nothing changes."""

    # defer_build: a knowledge base loaded from the cache is never validated again,
    # so the CLI need not pay for building these validators at every start.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


Scalar = Union[bool, int, str]


class AnswerTest(Strict):
    """A test on one answer: exactly one of the comparison keys is given."""

    answer: str
    is_: Scalar | None = Field(None, alias="is")
    one_of: list[Scalar] | None = None
    at_least: int | None = None
    at_most: int | None = None
    more_than: int | None = None
    less_than: int | None = None
    includes: str | None = None
    includes_any: list[str] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True, defer_build=True)

    @model_validator(mode="after")
    def _one_test(self) -> AnswerTest:
        given = [k for k in self.TESTS if getattr(self, k if k != "is" else "is_") is not None]
        if len(given) != 1:
            raise ValueError(
                f"answer test on {self.answer!r} needs exactly one of {', '.join(self.TESTS)}"
                f" (found {', '.join(given) or 'none'})"
            )
        if self.answer not in Answers.model_fields or self.answer in ("name", "version"):
            raise ValueError(f"unknown answer field {self.answer!r}")
        test = given[0]
        kind = field_kind(self.answer)
        allowed = {
            "list": {"includes", "includes_any"},
            "int": {"is", "one_of", "at_least", "at_most", "more_than", "less_than"},
            "bool": {"is"},
            "choice": {"is", "one_of"},
        }[kind]
        if test not in allowed:
            raise ValueError(f"{test!r} cannot test {self.answer!r} (a {kind} answer); use {sorted(allowed)}")
        for value in self.values():
            if kind == "bool" and not isinstance(value, bool):
                raise ValueError(f"{self.answer!r} is true or false (got {value!r})")
            if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{self.answer!r} is a whole number (got {value!r})")
            if kind in ("list", "choice") and value not in field_choices(self.answer):
                raise ValueError(
                    f"{value!r} is not a value of {self.answer!r} (one of {list(field_choices(self.answer))})"
                )
        return self

    TESTS: ClassVar[tuple[str, ...]] = ("is", "one_of", "at_least", "at_most", "more_than", "less_than", "includes", "includes_any")

    @cached_property
    def test(self) -> str:
        """The name of the comparison this test makes."""
        for k in self.TESTS:
            if getattr(self, k if k != "is" else "is_") is not None:
                return k
        raise AssertionError("validated to have one test")  # pragma: no cover

    def values(self) -> list[Scalar]:
        """The value(s) compared against."""
        value = getattr(self, self.test if self.test != "is" else "is_")
        return list(value) if isinstance(value, list) else [value]

    def holds(self, answers: dict[str, Any]) -> bool:
        """Evaluate the test in plain Python (for explanations and tests)."""
        value = answers.get(self.answer)
        test, vals = self.test, self.values()
        if value is None:
            return False
        if test in ("is", "one_of"):
            return value in vals and type(value) is type(vals[0])
        if test in ("includes", "includes_any"):
            return any(v in value for v in vals)
        bound = vals[0]
        assert isinstance(bound, int)
        return bool({
            "at_least": value >= bound,
            "at_most": value <= bound,
            "more_than": value > bound,
            "less_than": value < bound,
        }[test])

    def describe(self) -> str:
        """The test in plain words, e.g. ``sitting_hours at least 6``."""
        return self._described

    @cached_property
    def _described(self) -> str:
        vals = self.values()
        shown = ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in vals)
        return f"{self.answer} {self.test.replace('_', ' ')} {shown}"


class FindingTest(Strict):
    """True once a finding has been derived."""

    finding: Id


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=2)


class NotOf(Strict):
    """Negation, over answers only: the engine does not re-check negations of derived facts."""

    not_: AnswerTest = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True, defer_build=True)


def _condition_kind(value: Any) -> str | None:
    """Which kind of condition a mapping is, by its key (so errors name one kind)."""
    if isinstance(value, dict):
        for key, tag in (("answer", "answer-test"), ("finding", "finding-test"), ("any", "any-of"), ("not", "not-of")):
            if key in value:
                return tag
        return None
    tags: dict[type, str] = {AnswerTest: "answer-test", FindingTest: "finding-test", AnyOf: "any-of", NotOf: "not-of"}
    return tags.get(type(value))


Condition = Annotated[
    Annotated[AnswerTest, Tag("answer-test")] | Annotated[FindingTest, Tag("finding-test")] | Annotated[AnyOf, Tag("any-of")] | Annotated[NotOf, Tag("not-of")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message="a condition needs one of the keys answer, finding, any or not",
    ),
]


def condition_tests(cond: Any) -> list[Any]:
    """Every answer (or finding) test inside a condition."""
    if isinstance(cond, AnyOf):
        return [t for c in cond.any for t in condition_tests(c)]
    if isinstance(cond, NotOf):
        return [cond.not_]
    return [cond]


def holds(cond: Any, answers: dict[str, Any]) -> bool:
    """Evaluate an ``ask_when`` condition over the answers so far."""
    if isinstance(cond, AnyOf):
        return any(holds(c, answers) for c in cond.any)
    if isinstance(cond, NotOf):
        return not cond.not_.holds(answers)
    return bool(cond.holds(answers))
