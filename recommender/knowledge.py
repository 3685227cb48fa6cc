"""Load and validate the knowledge base: ``rules/*.yaml`` and ``content/*.yaml``.

Every file is checked by a strict pydantic model when it is loaded; a mistake
names the file, the rule or item id and the field. Cross-file checks (does the
finding a rule names exist?) run here too, so a loaded ``Knowledge`` is always
whole. ``stretchwise check`` adds the checks over the knowledge as a whole
(reachability, coverage) in ``checks.py``.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from .answers import Answers, field_choices, field_kind
from .cache import cached_object
from .errors import KnowledgeError

Level = Literal["self_care", "physio", "doctor_first", "urgent"]
#: Referral levels from the mildest to the most urgent.
LEVELS: tuple[Level, ...] = ("self_care", "physio", "doctor_first", "urgent")
Kind = Literal["mobility", "stretch", "strength"]
#: Chain 11 (source 000): joints first, then the muscles, then strength.
KIND_ORDER: tuple[Kind, ...] = ("mobility", "stretch", "strength")
Position = Literal[
    "standing", "seated", "supine", "prone", "kneeling", "all_fours", "floor_sitting", "side_lying"
]
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=80)]
Text = Annotated[str, Field(min_length=1, max_length=600)]


class _Strict(BaseModel):
    # defer_build: a knowledge base loaded from the cache is never validated again,
    # so the CLI need not pay for building these validators at every start.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


# --------------------------------------------------------------------------- sources


class Source(_Strict):
    """A document or guideline that rules and exercises cite."""

    id: str = Field(min_length=1, description="The file name, or a guideline's short name.")
    title: Text
    kind: Literal["document", "guideline"]


# --------------------------------------------------------------------------- conditions

Scalar = Union[bool, int, str]


class AnswerTest(_Strict):
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


class FindingTest(_Strict):
    """True once a finding has been derived."""

    finding: Id


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=2)


class NotOf(_Strict):
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


# --------------------------------------------------------------------------- conclusions


class Selector(_Strict):
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


class Then(_Strict):
    """A rule's one conclusion."""

    finding: Id | None = None
    indicate: Id | None = None
    priority: int = Field(2, ge=1, le=3, description="With indicate: 1 first, 3 last when time is short.")
    exclude: Selector | None = None
    refer: Level | None = None
    message: Text | None = Field(None, description="With refer: what to do, in plain words.")
    advise: Id | None = None

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
        return self

    @cached_property
    def kind(self) -> str:
        """Which conclusion this is: finding, indicate, exclude, refer or advise."""
        for k in ("finding", "indicate", "exclude", "refer", "advise"):
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated")  # pragma: no cover


class Rule(_Strict):
    """If every condition holds, conclude one thing, for a stated reason."""

    id: RuleId
    when: list[Condition] = Field(min_length=1)
    then: Then
    because: Text
    source: str


class RuleFile(_Strict):
    topic: Text
    rules: list[Rule]


# --------------------------------------------------------------------------- content


class Dose(_Strict):
    """How much of an exercise: holds or repetitions, per side, in sets."""

    hold_seconds: int | None = Field(None, ge=1, le=120)
    reps: int = Field(1, ge=1, le=30)
    rep_seconds: int = Field(4, ge=1, le=30, description="Time per repetition when nothing is held.")
    each_side: bool = False
    sets: int = Field(1, ge=1, le=5)

    def seconds(self) -> int:
        """Time the dose takes, with a short pause between sets."""
        per_rep = self.hold_seconds or self.rep_seconds
        per_set = self.reps * per_rep * (2 if self.each_side else 1)
        return self.sets * per_set + (self.sets - 1) * 15

    def describe(self) -> str:
        """The dose in plain words, e.g. ``hold 30 s, 2 times, each side``."""
        parts = []
        if self.hold_seconds:
            parts.append(f"hold {self.hold_seconds} s")
        parts.append("once" if self.reps == 1 else f"{self.reps} times")
        if self.each_side:
            parts.append("each side")
        if self.sets > 1:
            parts.append(f"{self.sets} sets")
        return ", ".join(parts)


class Variant(_Strict):
    """One way of doing an exercise (kneeling, standing, ...)."""

    id: Id
    name: Text
    position: Position
    equipment: list[str] = []
    loads: list[Id] = Field([], description="Movements this variant adds to the exercise's own.")
    steps: list[Text] = Field(min_length=2, max_length=6)
    picture: str | None = None


class Exercise(_Strict):
    """A stretch or exercise from the sources, in the project's own words."""

    id: Id
    name: Text
    targets: list[Text] = Field(min_length=1)
    kind: Kind
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


class Finding(_Strict):
    """An intermediate conclusion a clinician would name."""

    id: Id
    label: Text = Field(description="Plain words for the person.")
    clinical: Text = Field(description="The clinical name, for the reviewer.")
    note: Text = Field(description="A short clinical note for the reviewer.")
    source: str


class Advice(_Strict):
    """A habit or next step that is not an exercise."""

    id: Id
    title: Text
    text: Text
    source: str


class Phrase(_Strict):
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


class LevelText(_Strict):
    """What a referral level says to the person."""

    headline: Text
    text: Text


class Meta(_Strict):
    """The knowledge base's own version, printed on every routine."""

    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    equipment: list[Id] = Field(min_length=1, description="Equipment names exercises may need.")
    movements: dict[Id, Text] = Field(
        min_length=1, description="The movements an exercise can load, which exclusions select on."
    )
    levels: dict[Level, LevelText]
    stop_rule: Text = Field(description="Printed on every exercise card.")

    @model_validator(mode="after")
    def _all_levels(self) -> Meta:
        missing = [lv for lv in LEVELS if lv not in self.levels]
        if missing:
            raise ValueError(f"levels misses {', '.join(missing)}")
        return self


# Here, after the condition models: questions.py imports them from this module.
from .questions import Question


class ContentFile(_Strict):
    sources: list[Source] = []
    exercises: list[Exercise] = []
    findings: list[Finding] = []
    advice: list[Advice] = []
    phrases: list[Phrase] = []
    questions: list[Question] = []
    meta: Meta | None = None


# --------------------------------------------------------------------------- the whole


class Knowledge:
    """The loaded, validated and cross-checked knowledge base."""

    def __init__(
        self,
        root: Path,
        rules: list[tuple[str, Rule]],
        content: ContentFile,
        digest: str,
    ) -> None:
        self.root = root
        self.rules = [r for _, r in rules]
        self.rule_files = {r.id: f for f, r in rules}
        self.by_rule = {r.id: r for r in self.rules}
        self.sources = {s.id: s for s in content.sources}
        self.exercises = {e.id: e for e in content.exercises}
        self.findings = {f.id: f for f in content.findings}
        self.advice = {a.id: a for a in content.advice}
        self.phrases = {p.field: p for p in content.phrases}
        self.questions = list(content.questions)  # in the order they are asked
        assert content.meta is not None
        self.meta = content.meta
        self.digest = digest

    @property
    def version(self) -> str:
        """The knowledge base's version (``content/meta.yaml``)."""
        return self.meta.version

    @cached_property
    def alternatives(self) -> dict[str, list[Any]]:
        """Each rule's conditions as conjunctions (``engine.alternatives``), by rule id."""
        from .engine import alternatives

        return {rule.id: alternatives(rule) for rule in self.rules}

    @cached_property
    def covered(self) -> dict[str, frozenset[tuple[str, str]]]:
        """For each exclusion rule, the (exercise, variant) pairs its selector covers."""
        return {
            rule.id: frozenset(
                (ex.id, v.id)
                for ex in self.exercises.values()
                for v in ex.variants
                if rule.then.exclude.matches(ex.properties(v))
            )
            for rule in self.rules
            if rule.then.exclude is not None
        }

    @cached_property
    def exercise_order(self) -> dict[str, int]:
        """Library order, the last tie-break when ranking exercises."""
        return {eid: i for i, eid in enumerate(self.exercises)}


def default_root() -> Path:
    """The knowledge that ships with the package (or the source tree's, in development)."""
    here = Path(__file__).resolve().parent
    packaged = here / "_data"
    if (packaged / "rules").is_dir():
        return packaged
    return here.parent


_SINGULAR = {
    "rules": "rule",
    "exercises": "exercise",
    "findings": "finding",
    "advice": "advice",
    "sources": "source",
    "questions": "question",
    "variants": "variant",
}


def _loc(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic location in our words, naming list items by their id.

    ``('rules', 0, 'when', 1, 'answer-test', 'at_least')`` becomes
    ``rule 'sitting-tightens-hip-flexors': when[1].at_least``.
    """
    out = ""
    node, parent = data, None
    for item in loc:
        if isinstance(item, str) and ("-" in item or "[" in item):
            continue  # pydantic's names for union members and validators, not keys
        if isinstance(item, int):
            child = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            ident = child.get("id") if isinstance(child, dict) else None
            if ident and parent is not None and parent in _SINGULAR:
                out = out[: -len(parent)].rstrip(".")
                out += f"{': ' if out and not out.endswith(': ') else ''}{_SINGULAR[parent]} {ident!r}: "
            else:
                out += f"[{item}]"
            node = child
        else:
            out += ("." if out and not out.endswith(": ") else "") + item
            node = node.get(item) if isinstance(node, dict) else None
            parent = item
    return out.rstrip(": ")


def _read_yaml(path: Path, label: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
    try:
        return yaml.load(path.read_bytes().decode("utf-8"), Loader=loader)
    except OSError as e:
        raise KnowledgeError(f"{label}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise KnowledgeError(f"{label}: not UTF-8 text (byte {e.start})") from None
    except yaml.YAMLError as e:
        raise KnowledgeError(f"{label}: not valid YAML: {' '.join(str(e).split())}") from None


def _validate(model: type[BaseModel], data: Any, label: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            where = _loc(tuple(err["loc"]), data)
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{label}: {where}: {msg}" if where else f"{label}: {msg}")
        raise KnowledgeError("\n".join(dict.fromkeys(lines))) from None


def load_knowledge(root: str | Path | None = None) -> Knowledge:
    """Load and validate ``rules/`` and ``content/`` under ``root``."""
    base = Path(root) if root is not None else default_root()
    rules_dir, content_dir = base / "rules", base / "content"
    for d in (rules_dir, content_dir):
        if not d.is_dir():
            raise KnowledgeError(f"{d}: no such folder (the knowledge base needs rules/ and content/)")
    files = [("rules", p) for p in sorted(rules_dir.glob("*.yaml"))]
    files += [("content", p) for p in sorted(content_dir.glob("*.yaml"))]
    digest = hashlib.sha256()
    for folder, path in files:
        try:
            digest.update(f"{folder}/{path.name}\0".encode() + path.read_bytes() + b"\0")
        except OSError as e:
            raise KnowledgeError(f"{folder}/{path.name}: cannot read: {e.strerror}") from None
    key = digest.hexdigest()[:12]
    kb = cached_object(f"knowledge-{key}", lambda: _load(base, files, key))
    kb.root = base
    return kb


def _load(base: Path, files: list[tuple[str, Path]], digest: str) -> Knowledge:
    problems: list[str] = []  # every file is checked before any error is raised

    def parse(path: Path, label: str, model: type[BaseModel]) -> Any:
        try:
            data = _read_yaml(path, label)
            return _validate(model, data, label)
        except KnowledgeError as e:
            problems.append(str(e))
            return None

    rules: list[tuple[str, Rule]] = []
    for path in (p for folder, p in files if folder == "rules"):
        label = f"rules/{path.name}"
        parsed = parse(path, label, RuleFile)
        if parsed is not None:
            rules.extend((label, r) for r in parsed.rules)
    merged: dict[str, list[Any]] = {}
    meta = None
    for path in (p for folder, p in files if folder == "content"):
        label = f"content/{path.name}"
        parsed_c = parse(path, label, ContentFile)
        if parsed_c is None:
            continue
        for key in ("sources", "exercises", "findings", "advice", "phrases", "questions"):
            merged.setdefault(key, []).extend((label, x) for x in getattr(parsed_c, key))
        if parsed_c.meta is not None:
            if meta is not None:
                problems.append(f"{label}: meta is defined twice")
            meta = parsed_c.meta
    if problems:
        raise KnowledgeError("\n".join(problems))
    if meta is None:
        raise KnowledgeError("content/: no file defines meta (version, levels, stop_rule)")
    content = ContentFile(**{k: [x for _, x in v] for k, v in merged.items()}, meta=meta)
    _cross_check(rules, merged, content)
    kb = Knowledge(base, rules, content, digest)
    # Derived tables, worked out once here so that the cached copy carries them.
    for table in ("alternatives", "covered", "exercise_order"):
        getattr(kb, table)
    return kb


def _cross_check(rules: list[tuple[str, Rule]], merged: dict[str, list[Any]], content: ContentFile) -> None:
    """What one file cannot check alone: unique ids, and names that must exist."""
    problems: list[str] = []
    for key, items in [("rule", rules)] + [(k.rstrip("s"), v) for k, v in merged.items()]:
        seen: dict[str, str] = {}
        for label, item in items:
            ident = str(getattr(item, "id", None) or getattr(item, "field", ""))
            if ident in seen:
                problems.append(f"{label}: {key} {ident!r}: already defined in {seen[ident]}")
            seen[ident] = label
    sources = {s.id for s in content.sources}
    findings = {f.id for f in content.findings}
    exercises = {e.id: e for e in content.exercises}
    advice = {a.id for a in content.advice}
    assert content.meta is not None
    equipment = set(content.meta.equipment)
    cited = ("exercises", "findings", "advice")
    for label, item in [(lb, x) for k, v in merged.items() if k in cited for lb, x in v]:
        if item.source not in sources:
            problems.append(f"{label}: {item.id!r}: source: {item.source!r} is not in content/sources.yaml")
    movements = set(content.meta.movements)
    for label, ex in merged.get("exercises", []):
        if ex.followed_by is not None and (ex.followed_by not in exercises or ex.followed_by == ex.id):
            problems.append(f"{label}: {ex.id!r}: followed_by: {ex.followed_by!r} is not another exercise")
        for ld in sorted(set(ex.loads).union(*(v.loads for v in ex.variants)) - movements):
            problems.append(f"{label}: {ex.id!r}: loads: {ld!r} is not a movement in content/meta.yaml")
        for v in ex.variants:
            for eq in v.equipment:
                if eq not in equipment:
                    problems.append(f"{label}: {ex.id!r}: variant {v.id!r}: unknown equipment {eq!r}")
    for label, rule in rules:
        where = f"{label}: rule {rule.id!r}"
        if rule.source not in sources:
            problems.append(f"{where}: source: {rule.source!r} is not in content/sources.yaml")
        for name in _finding_names(rule.when):
            if name not in findings:
                problems.append(f"{where}: when: unknown finding {name!r}")
        t = rule.then
        if t.finding is not None and t.finding not in findings:
            problems.append(f"{where}: then.finding: unknown finding {t.finding!r}")
        if t.indicate is not None and t.indicate not in exercises:
            problems.append(f"{where}: then.indicate: unknown exercise {t.indicate!r}")
        if t.advise is not None and t.advise not in advice:
            problems.append(f"{where}: then.advise: unknown advice {t.advise!r}")
        if t.exclude is not None:
            for eid in t.exclude.id or ():
                if eid not in exercises:
                    problems.append(f"{where}: then.exclude.id: unknown exercise {eid!r}")
            for eq in t.exclude.equipment or ():
                if eq not in equipment:
                    problems.append(f"{where}: then.exclude.equipment: unknown equipment {eq!r}")
            for ld in t.exclude.loads or ():
                if ld not in movements:
                    problems.append(f"{where}: then.exclude.loads: {ld!r} is not a movement in content/meta.yaml")
    if problems:
        raise KnowledgeError("\n".join(problems))


def _finding_names(conditions: list[Condition]) -> list[str]:
    names: list[str] = []
    for c in conditions:
        if isinstance(c, FindingTest):
            names.append(c.finding)
        elif isinstance(c, AnyOf):
            names.extend(_finding_names(c.any))
    return names
