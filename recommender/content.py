"""The knowledge models: rules and their conclusions, exercises and their
variants, findings, advice, phrases, the questions and the base's own meta.

Each model is strict (``conditions.Strict``): a mistyped key fails loudly
when the file is loaded, naming the file, the item and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from .answers import Answers, Area, Numbness, field_choices
from .conditions import AnswerTest, AnyOf, Condition, FindingTest, Id, NotOf, RuleId, Strict, Text
from .questions import Question

Level = Literal["self_care", "physio", "doctor_first", "urgent"]
#: Referral levels from the mildest to the most urgent.
LEVELS: tuple[Level, ...] = ("self_care", "physio", "doctor_first", "urgent")
Kind = Literal["mobility", "stretch", "strength"]
#: Chain 11 (source 000): joints first, then the muscles, then strength.
KIND_ORDER: tuple[Kind, ...] = ("mobility", "stretch", "strength")
Position = Literal[
    "standing", "seated", "supine", "prone", "kneeling", "all_fours", "floor_sitting", "side_lying"
]


# --------------------------------------------------------------------------- sources


class Source(Strict):
    """A document or guideline that rules and exercises cite."""

    id: str = Field(min_length=1, description="The file name, or a guideline's short name.")
    title: Text
    kind: Literal["document", "guideline"]


# --------------------------------------------------------------------------- conclusions


class Selector(Strict):
    """Which exercise variants an exclusion covers: any listed value matches."""

    id: list[Id] | None = None
    kind: list[Kind] | None = None
    position: list[Position] | None = None
    equipment: list[str] | None = None
    loads: list[Id] | None = None

    @model_validator(mode="after")
    def _something(self) -> Selector:
        if not any(getattr(self, k) for k in self.KEYS):
            raise ValueError(f"exclude needs at least one of {', '.join(self.KEYS)}")
        return self

    KEYS: ClassVar[tuple[str, ...]] = ("id", "kind", "position", "equipment", "loads")

    @cached_property
    def _sets(self) -> tuple[tuple[str, frozenset[str]], ...]:
        return tuple((k, frozenset(getattr(self, k))) for k in self.KEYS if getattr(self, k))

    def matches(self, props: dict[str, frozenset[str]]) -> bool:
        """True when a variant's properties share a value with this selector."""
        return any(not values.isdisjoint(props[k]) for k, values in self._sets)

    def describe(self) -> str:
        """The selector in plain words."""
        return "; ".join(f"{k}: {', '.join(getattr(self, k))}" for k in self.KEYS if getattr(self, k))


class Then(Strict):
    """A rule's one conclusion."""

    finding: Id | None = None
    indicate: Id | None = None
    priority: int = Field(2, ge=1, le=3, description="With indicate: 1 first, 3 last when time is short.")
    exclude: Selector | None = None
    refer: Level | None = None
    message: Text | None = Field(None, description="With refer: what to do, in plain words.")
    advise: Id | None = None
    requires: Id | None = Field(
        None, description="With indicate: the indication stands only when this exercise is in the routine too."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Then:
        given = [k for k in ("finding", "indicate", "exclude", "refer", "advise") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "then needs exactly one of finding, indicate, exclude, refer, advise"
                f" (found {', '.join(given) or 'none'})"
            )
        if self.refer is not None and self.message is None:
            raise ValueError("a referral needs a message that says what to do")
        if self.refer is None and self.message is not None:
            raise ValueError("message goes with refer only")
        if self.indicate is None and "priority" in self.model_fields_set:
            raise ValueError("priority goes with indicate only")
        if self.indicate is None and self.requires is not None:
            raise ValueError("requires goes with indicate only")
        return self

    @cached_property
    def kind(self) -> str:
        """Which conclusion this is: finding, indicate, exclude, refer or advise."""
        for k in ("finding", "indicate", "exclude", "refer", "advise"):
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated")  # pragma: no cover


class Rule(Strict):
    """If every condition holds, conclude one thing, for a stated reason."""

    id: RuleId
    when: list[Condition] = Field(min_length=1)
    then: Then
    because: Text
    source: str


class RuleFile(Strict):
    topic: Text
    rules: list[Rule]


@dataclass(frozen=True)
class Alternative:
    """One conjunction of a rule's conditions: what one durable rule tests."""

    rule: Rule
    index: int
    facts: tuple[AnswerTest | FindingTest, ...]
    negated: tuple[AnswerTest, ...]


def alternatives(rule: Rule) -> list[Alternative]:
    """Expand a rule's conditions into conjunctions (disjunctive normal form)."""
    combos: list[list[AnswerTest | FindingTest | NotOf]] = [[]]
    for cond in rule.when:
        options = _expand(cond)
        combos = [c + o for c in combos for o in options]
    out = []
    for i, combo in enumerate(combos):
        pos: tuple[AnswerTest | FindingTest, ...] = tuple(c for c in combo if not isinstance(c, NotOf))
        neg = tuple(c.not_ for c in combo if isinstance(c, NotOf))
        out.append(Alternative(rule, i, pos, neg))
    return out


def _expand(cond: Condition) -> list[list[AnswerTest | FindingTest | NotOf]]:
    if isinstance(cond, AnyOf):
        return [o for c in cond.any for o in _expand(c)]
    if isinstance(cond, AnswerTest) and cond.test in ("includes_any", "one_of"):
        key = "includes" if cond.test == "includes_any" else "is"
        return [[AnswerTest.model_validate({"answer": cond.answer, key: v})] for v in cond.values()]
    if isinstance(cond, NotOf) and cond.not_.test in ("includes_any", "one_of"):
        key = "includes" if cond.not_.test == "includes_any" else "is"
        # not (a or b) = not a and not b
        return [
            [NotOf.model_validate({"not": {"answer": cond.not_.answer, key: v}}) for v in cond.not_.values()]
        ]
    return [[cond]]


# --------------------------------------------------------------------------- content


class Dose(Strict):
    """How much of an exercise: holds or repetitions, per side, in sets."""

    hold_seconds: int | None = Field(None, ge=1, le=120)
    reps: int = Field(1, ge=1, le=30)
    rep_seconds: int = Field(4, ge=1, le=30, description="Time per repetition when nothing is held.")
    each_side: bool = False
    sets: int = Field(1, ge=1, le=5)

    def seconds(self, sets: int | None = None) -> int:
        """Time the dose takes (in ``sets`` sets when given), with a short pause between sets."""
        sets = self.sets if sets is None else sets
        per_rep = self.hold_seconds or self.rep_seconds
        per_set = self.reps * per_rep * (2 if self.each_side else 1)
        return sets * per_set + (sets - 1) * 15

    def describe(self, sets: int | None = None) -> str:
        """The dose in plain words (in ``sets`` sets when given), e.g. ``hold 30 s, 2 times on each
        side`` (the count is per side: a reader of "2 times, each side" could not tell)."""
        sets = self.sets if sets is None else sets
        parts = []
        if self.hold_seconds:
            parts.append(f"hold {self.hold_seconds} s")
        times = "once" if self.reps == 1 else f"{self.reps} times"
        parts.append(f"{times} on each side" if self.each_side else times)
        if sets > 1:
            parts.append(f"{sets} sets")
        return ", ".join(parts)


class Variant(Strict):
    """One way of doing an exercise (kneeling, standing, ...)."""

    id: Id
    name: Text
    position: Position
    equipment: list[str] = []
    loads: list[Id] = Field([], description="Movements this variant adds to the exercise's own.")
    steps: list[Text] = Field(min_length=2, max_length=6)
    picture: str | None = None


class Exercise(Strict):
    """A stretch or exercise from the sources, in the project's own words."""

    id: Id
    name: Text
    targets: list[Text] = Field(min_length=1)
    kind: Kind
    group: Id = Field(description="Its movement group: a routine holds at most one exercise of a group.")
    areas: list[Area] = Field(min_length=1, description="The areas it works on.")
    loads: list[Id] = Field(description="Movements it loads, which contraindication rules select on.")
    dose: Dose
    cautions: list[Text] = Field(min_length=1)
    variants: list[Variant] = Field(min_length=1, description="In order of preference.")
    followed_by: Id | None = Field(None, description="An exercise to do straight after this one.")
    source: str

    @model_validator(mode="after")
    def _unique_variants(self) -> Exercise:
        ids = [v.id for v in self.variants]
        if len(ids) != len(set(ids)):
            raise ValueError(f"variant ids repeat: {ids}")
        return self

    def properties(self, variant: Variant) -> dict[str, frozenset[str]]:
        """What an exclusion can select on, for one variant."""
        cache: dict[str, dict[str, frozenset[str]]] = self.__dict__.setdefault("_props", {})
        if variant.id not in cache:
            cache[variant.id] = self._properties(variant)
        return cache[variant.id]

    def _properties(self, variant: Variant) -> dict[str, frozenset[str]]:
        return {
            "id": frozenset({self.id}),
            "kind": frozenset({self.kind}),
            "position": frozenset({variant.position}),
            "equipment": frozenset(variant.equipment),
            "loads": frozenset(self.loads) | frozenset(variant.loads),
        }


class Finding(Strict):
    """An intermediate conclusion a clinician would name."""

    id: Id
    label: Text = Field(description="Plain words for the person.")
    clinical: Text = Field(description="The clinical name, for the reviewer.")
    note: Text = Field(description="A short clinical note for the reviewer.")
    source: str


class Advice(Strict):
    """A habit or next step that is not an exercise."""

    id: Id
    title: Text
    text: Text
    kind: Literal["habit", "when_to_get_help"] = Field(
        "habit",
        description="habit: printed under 'Habits that help'; when_to_get_help: signs that cannot wait,"
        " printed in its own box before the routine, never shortened.",
    )
    short: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None,
        description="The habit in one line, for a shorter sheet (a follow-up's simpler routine)."
        " Advice about when to get help has none: it is always given in full.",
    )
    source: str
    goes_with: list[Id] = Field(
        [], description="Exercises the text refers to: given only when one of them is in the routine."
    )

    @model_validator(mode="after")
    def _whole_when_it_cannot_wait(self) -> Advice:
        if self.kind == "when_to_get_help" and self.short is not None:
            raise ValueError("advice on when to get help is always given whole: it has no short form")
        return self


class Phrase(Strict):
    """How an explanation says one answers field back to the person."""

    field: str
    value: Text | None = Field(None, description="For numbers: a template with {value}.")
    if_yes: Text | None = None
    if_no: Text | None = None
    items: dict[str, Text] = Field({}, description="Each choice or list item, as a phrase.")
    absent: dict[str, Text] = Field({}, description="A list item that was not given.")

    @model_validator(mode="after")
    def _fits_the_field(self) -> Phrase:
        if self.field not in Answers.model_fields or self.field in ("name", "version"):
            raise ValueError(f"unknown answer field {self.field!r}")
        allowed = set(field_choices(self.field))
        for key in (*self.items, *self.absent):
            if key not in allowed:
                raise ValueError(f"{key!r} is not a value of {self.field!r}")
        return self

    def says(self, value: Any, item: str | None = None, negated: bool = False) -> str | None:
        """The plain words for a value (or a list item), or None if none are written."""
        if item is not None:
            return (self.absent if negated else self.items).get(item)
        if isinstance(value, bool):
            return self.if_yes if value else self.if_no
        if isinstance(value, int) and self.value is not None:
            return self.value.format(value=value)
        return self.items.get(str(value))


class LevelText(Strict):
    """What a referral level says to the person."""

    headline: Text
    text: Text


class Meta(Strict):
    """The knowledge base's own version, printed on every routine."""

    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    equipment: list[Id] = Field(min_length=1, description="Equipment names exercises may need.")
    movements: dict[Id, Text] = Field(
        min_length=1, description="The movements an exercise can load, which exclusions select on."
    )
    levels: dict[Level, LevelText]
    stop_rule: dict[Numbness, Text] = Field(
        description="When to stop, printed wherever exercises are given: one wording for each "
        "numbness_or_tingling answer, so no one is told to stop for what they already feel."
    )
    safety_net: dict[Numbness, Text] = Field(
        description="When to get medical help today, printed on a physio sheet that gives no "
        "routine (and so no stop rule): one wording for each numbness_or_tingling answer."
    )

    @model_validator(mode="after")
    def _all_levels(self) -> Meta:
        missing = [lv for lv in LEVELS if lv not in self.levels]
        if missing:
            raise ValueError(f"levels misses {', '.join(missing)}")
        unsaid = [str(v) for v in field_choices("numbness_or_tingling") if v not in self.stop_rule]
        if unsaid:
            raise ValueError(f"stop_rule misses {', '.join(unsaid)}")
        unsaid = [str(v) for v in field_choices("numbness_or_tingling") if v not in self.safety_net]
        if unsaid:
            raise ValueError(f"safety_net misses {', '.join(unsaid)}")
        return self



class ContentFile(Strict):
    sources: list[Source] = []
    exercises: list[Exercise] = []
    findings: list[Finding] = []
    advice: list[Advice] = []
    phrases: list[Phrase] = []
    questions: list[Question] = []
    meta: Meta | None = None

