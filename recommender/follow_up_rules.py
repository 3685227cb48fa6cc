"""The follow-up knowledge (``rules/follow_up.yaml``): check-in rules, verdict sentences, progression.

A follow-up rule tests the check-in: what the two visits say together (pain
then and now, the days the routine was done, the person's own rating, the weeks
between, the referral level the answers now call for). It concludes a
``signal`` (which other follow-up rules chain on) or a ``verdict``. The
engine runs them as their own durable-rules ruleset on the process's one Host
(``follow_up``). Like every knowledge model these are strict: a mistyped key
names the file, the rule and the field.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from typing import get_args

from .answers import Change
from .conditions import Id, RuleId, Scalar, Strict, Text
from .content import LEVELS

Verdict = Literal["continue", "progress", "simplify", "physio", "doctor_first", "urgent"]
#: Verdicts from the mildest to the most urgent: when several rules conclude one, the last wins.
VERDICTS: tuple[Verdict, ...] = ("continue", "progress", "simplify", "physio", "doctor_first", "urgent")
#: The check-in values a follow-up rule may test, and the kind of each.
CHECKS: dict[str, str] = {
    "level_now": "choice",
    "pain_before": "int",
    "pain_now": "int",
    "pain_change": "int",
    "days_done": "int",
    "overall_change": "choice",
    "weeks_between": "int",
}


def check_choices(name: str) -> tuple[Any, ...]:
    """The values of a choice check."""
    return LEVELS if name == "level_now" else get_args(Change)


class CheckTest(Strict):
    """A test on one check-in value: exactly one comparison."""

    check: str
    is_: Scalar | None = Field(None, alias="is")
    one_of: list[Scalar] | None = None
    at_least: int | None = None
    at_most: int | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True, defer_build=True)
    TESTS: ClassVar[tuple[str, ...]] = ("is", "one_of", "at_least", "at_most")

    @model_validator(mode="after")
    def _one_test(self) -> CheckTest:
        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r} (one of {', '.join(CHECKS)})")
        given = [k for k in self.TESTS if getattr(self, k if k != "is" else "is_") is not None]
        if len(given) != 1:
            raise ValueError(f"check {self.check!r} needs exactly one of {', '.join(self.TESTS)}")
        kind = CHECKS[self.check]
        if kind == "choice" and given[0] not in ("is", "one_of"):
            raise ValueError(f"{given[0]!r} cannot test {self.check!r} (a choice); use is or one_of")
        for value in self.values():
            if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{self.check!r} is a whole number (got {value!r})")
            if kind == "choice" and value not in check_choices(self.check):
                raise ValueError(f"{value!r} is not a value of {self.check!r}")
        return self

    @cached_property
    def test(self) -> str:
        """The name of the comparison."""
        return next(k for k in self.TESTS if getattr(self, k if k != "is" else "is_") is not None)

    def values(self) -> list[Scalar]:
        """The value(s) compared against."""
        value = getattr(self, self.test if self.test != "is" else "is_")
        return list(value) if isinstance(value, list) else [value]

    def holds(self, checks: dict[str, Any]) -> bool:
        """The test in plain Python (explanations and tests)."""
        value = checks.get(self.check)
        if value is None:
            return False
        bound = self.values()
        if self.test in ("is", "one_of"):
            return value in bound
        return bool(value >= bound[0] if self.test == "at_least" else value <= bound[0])

    def describe(self) -> str:
        """The comparison in plain words, e.g. ``at least 10``."""
        shown = ", ".join(str(v) for v in self.values())
        return f"{self.test.replace('_', ' ')} {shown}"


class SignalTest(Strict):
    """True once another follow-up rule has concluded this signal."""

    signal: Id


class NotCheck(Strict):
    """A check-in test that must not hold (over check-in values only, never a signal)."""

    not_: CheckTest = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True, defer_build=True)


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((t for k, t in (("check", "check"), ("signal", "signal"), ("not", "not")) if k in value), None)
    kinds: dict[type, str] = {CheckTest: "check", SignalTest: "signal", NotCheck: "not"}
    return kinds.get(type(value))


FollowUpCondition = Annotated[
    Annotated[CheckTest, Tag("check")] | Annotated[SignalTest, Tag("signal")] | Annotated[NotCheck, Tag("not")],
    Discriminator(_kind, custom_error_type="condition", custom_error_message="a condition needs check, signal or not"),
]


class FollowUpThen(Strict):
    """One conclusion: a signal, or a verdict (a referral verdict says what to do)."""

    signal: Id | None = None
    verdict: Verdict | None = None
    message: Text | None = Field(None, description="With a physio verdict: what to do, naming the reason.")
    pause: bool = Field(False, description="With a physio verdict: no exercises until a therapist has seen the person.")
    sentence: Text | None = Field(None, description="With a verdict: its one plain sentence, instead of the usual one.")

    @model_validator(mode="after")
    def _exactly_one(self) -> FollowUpThen:
        if (self.signal is None) == (self.verdict is None):
            raise ValueError("then needs exactly one of signal, verdict")
        if (self.message is not None) != (self.verdict == "physio"):
            raise ValueError("a physio verdict needs a message, and only it has one")
        if self.pause and self.verdict != "physio":
            raise ValueError("pause goes with a physio verdict only")
        if self.sentence is not None and self.verdict is None:
            raise ValueError("sentence goes with a verdict only")
        return self


class FollowUpRule(Strict):
    """If every condition holds, conclude one thing, for a stated reason."""

    id: RuleId
    when: list[FollowUpCondition] = Field(min_length=1)
    then: FollowUpThen
    because: Text
    source: str


class NextStep(Strict):
    """A harder way of doing one exercise: another variant, or another exercise of its group."""

    exercise: Id
    variant: Id | None = Field(None, description="Only from this variant; unsaid: from any.")
    to_exercise: Id
    to_variant: Id | None = Field(None, description="Unsaid: the first variant the person can do.")
    because: Text
    source: str


class Cap(Strict):
    hold_seconds: int | None = Field(None, ge=1, le=120, description="Unsaid: the hold never grows.")
    reps: int = Field(ge=1, le=30)


class Progression(Strict):
    """How a routine steps up when it is going well: one step per exercise, within a time allowance."""

    hold_step: int = Field(ge=1, le=30, description="Seconds added to a hold.")
    reps_step: int = Field(ge=1, le=10, description="Repetitions added.")
    extra_seconds: int = Field(ge=0, le=600, description="Time the steps together may add to a session.")
    cap: Cap = Field(description="The longest hold and most repetitions, unless an exercise has its own.")
    caps: dict[Id, Cap] = {}
    next: list[NextStep] = []
    because: Text
    source: str

    def cap_for(self, exercise_id: str) -> Cap:
        """The cap of one exercise."""
        return self.caps.get(exercise_id, self.cap)


class Simplify(Strict):
    keep: int = Field(ge=1, le=5, description="Exercises kept: the strongest ones.")
    because: Text
    source: str


class FollowUpFile(Strict):
    """``rules/follow_up.yaml``."""

    topic: Text
    rules: list[FollowUpRule] = Field(min_length=1)
    verdicts: dict[Verdict, Text] = Field(description="Each verdict in one plain sentence.")
    progression: Progression
    simplify: Simplify
    signals: dict[Id, Text] = Field(description="Each signal in plain words, as a derivation shows it.")
    says: dict[str, Text] = Field(
        description="Each check-in value in the person's words: {value}, and {before} and {now} for the pain."
    )

    @model_validator(mode="after")
    def _whole(self) -> FollowUpFile:
        missing = [v for v in VERDICTS if v not in self.verdicts]
        if missing:
            raise ValueError(f"verdicts misses {', '.join(missing)}")
        unknown = [k for k in self.says if k not in CHECKS]
        if unknown:
            raise ValueError(f"says: unknown check {', '.join(unknown)}")
        concluded = {r.then.signal for r in self.rules}
        ids: set[str] = set()
        for rule in self.rules:
            if rule.id in ids:
                raise ValueError(f"rule {rule.id!r} is defined twice")
            ids.add(rule.id)
            for cond in rule.when:
                if isinstance(cond, SignalTest) and cond.signal not in self.signals:
                    raise ValueError(f"rule {rule.id!r}: signal {cond.signal!r} has no words in signals")
                if isinstance(cond, SignalTest) and cond.signal not in concluded:
                    raise ValueError(f"rule {rule.id!r}: no rule concludes signal {cond.signal!r}")
        return self


def problems(file: FollowUpFile, sources: set[str], exercises: dict[str, Any], label: str) -> list[str]:
    """What the file alone cannot check: sources and exercises that must exist."""
    out = []
    cited = [(f"rule {r.id!r}", r.source) for r in file.rules]
    cited += [("progression", file.progression.source), ("simplify", file.simplify.source)]
    cited += [(f"next {n.exercise!r}", n.source) for n in file.progression.next]
    for where, source in cited:
        if source not in sources:
            out.append(f"{label}: {where}: source: {source!r} is not in content/sources.yaml")
    for eid in file.progression.caps:
        if eid not in exercises:
            out.append(f"{label}: progression.caps: unknown exercise {eid!r}")
    for step in file.progression.next:
        for eid, vid in ((step.exercise, step.variant), (step.to_exercise, step.to_variant)):
            if eid not in exercises:
                out.append(f"{label}: next {step.exercise!r}: unknown exercise {eid!r}")
            elif vid is not None and vid not in {v.id for v in exercises[eid].variants}:
                out.append(f"{label}: next {step.exercise!r}: {eid!r} has no variant {vid!r}")
    return out
