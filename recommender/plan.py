"""A clinician's plan: the changes a clinician makes to a routine, each with its reason (issue 21).

The plan is a small file, read by the one reader (``reader.read_plan``) with
the same strictness as answers, then validated here twice over:

1. as a document (``Plan``): known fields only, every entry with a reason,
   doses within the library's own bounds, ``clear`` only for ``doctor_first``
   and only with the doctor who assessed the person (named, with a doctor's
   role, and the day, not in the future);
2. against the knowledge base (``check_plan``): every exercise, variant and
   rule exists (an unknown one is named with the closest suggestion), an
   override names an exclusion rule that really covers the exercise and does
   not guard a red flag, and no exercise is listed twice or both added and
   removed.

Whether an addition is safe for *these* answers is decided where the plan is
applied (``adjust``), since it depends on what the answers exclude.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .answers import error_words, field_bounds
from .errors import PlanError
from .reading import key_text, short

if TYPE_CHECKING:
    from .knowledge import Knowledge

#: Problems listed one by one in an error message; the rest are counted.
MAX_PROBLEMS = 20


def _printable(value: str) -> str:
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("must not contain control characters")
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="Why the change was made, in plain words (shown on the sheet).",
    ),
    AfterValidator(_printable),
]
ExerciseId = Annotated[
    str, Field(min_length=1, max_length=60, description="An exercise id (`stretchwise exercises`).")
]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Remove(_Entry):
    """Take an exercise out of the routine."""

    exercise: ExerciseId
    reason: Reason


class Add(_Entry):
    """Put an exercise in the routine, in a chosen variant or the first one the answers allow."""

    exercise: ExerciseId
    variant: str | None = Field(
        None, max_length=60, description="A variant id; unsaid: the first one allowed."
    )
    reason: Reason


class DoseChange(_Entry):
    """Change the dose of an exercise in the routine, within the library's own bounds."""

    exercise: ExerciseId
    # the same bounds as every dose in content/exercises.yaml (content.Dose)
    hold_seconds: int | None = Field(None, ge=1, le=120, description="Seconds each hold lasts.")
    reps: int | None = Field(None, ge=1, le=30, description="Repetitions per set.")
    sets: int | None = Field(None, ge=1, le=5, description="Sets.")
    reason: Reason

    @model_validator(mode="after")
    def _something(self) -> DoseChange:
        if self.hold_seconds is None and self.reps is None and self.sets is None:
            raise ValueError("needs at least one of hold_seconds, reps, sets")
        return self


class Override(_Entry):
    """Set aside one exclusion rule for one exercise, and put the exercise in the routine."""

    exercise: ExerciseId
    rule: str = Field(min_length=1, max_length=80, description="The id of the exclusion rule set aside.")
    reason: Reason


#: Words in a role that make it not a doctor's, whatever else it says ("nurse practitioner",
#: "physician assistant", "physical therapist", "exercise physiologist").
NOT_A_DOCTOR = frozenset({
    "pt", "dpt", "mpt", "physio", "physiotherapist", "physiotherapy", "therapist", "chiropractor", "dc",
    "massage", "rmt", "trainer", "atc", "coach", "nurse", "rn", "np", "kinesiologist", "physiologist",
    "osteopath", "midwife", "pharmacist", "dentist", "receptionist", "assistant", "associate", "student",
})
#: Words in a role that make it a doctor's (with any specialist ending in -ologist or -iatrician).
A_DOCTOR = frozenset({
    "gp", "md", "do", "mbbs", "mbchb", "physician", "doctor", "consultant", "registrar", "resident",
    "surgeon", "medicine", "internist", "hospitalist", "orthopaedic", "orthopaedics", "orthopedic",
    "orthopedics", "obstetrician", "emergency",
})
#: Words that stand in for a name without giving one.
NO_NAME = frozenset({"none", "na", "x", "self", "me", "myself", "unknown", "tbc", "tbd", "nobody", "doctor", "dr"})


def role_words(value: str) -> tuple[str, set[str]]:
    """'Dr Sam Lee, GP' as its name squeezed to letters ('drsamlee') and its role's words ({'gp'})."""
    name, _, role = value.rpartition(",")
    return re.sub(r"[^a-z]", "", name.lower()), set(re.findall(r"[a-z&]+", role.lower()))


def _doctor(value: str) -> str:
    """``assessed_by``: a named doctor, as 'NAME, ROLE'."""
    value = _printable(value)
    name, words = role_words(value)
    if not words or not name or name in NO_NAME:  # no comma: no name either
        raise ValueError(f"name the doctor and their role, as 'Dr Sam Lee, GP' or 'Dr Ana Costa, oncologist' (got {value!r})")
    if words & NOT_A_DOCTOR:
        raise ValueError(
            f"{value!r} is not a doctor: a see-a-doctor-first referral is cleared only once a doctor has assessed"
            " the person, and a therapist, chiropractor, nurse or coach cannot clear it alone"
        )
    doctor = words & A_DOCTOR or {"general", "practitioner"} <= words
    if not doctor and not any(w.endswith(("ologist", "iatrician")) for w in words):
        raise ValueError(
            f"{value!r} does not give a doctor's role: write it after the comma, such as GP, physician,"
            " consultant, oncologist, rheumatologist or orthopaedic surgeon"
        )
    return value


def _not_future(value: date) -> date:
    if value > date.today():
        raise ValueError(f"{value.isoformat()} is in the future: give the day the doctor assessed the person")
    return value


class Clear(_Entry):
    """Clear a "see a doctor first" referral once a doctor has assessed the person for its
    reasons (never an urgent one). The referral asks for a doctor: a clear that names none
    would start a routine that the sheet itself says should wait for one."""

    level: Literal["doctor_first"] = Field(
        description="Only doctor_first: an urgent referral can never be cleared."
    )
    assessed_by: Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_doctor)] = Field(
        description="The doctor who assessed the person for the referral's reasons, with their role, as the"
        " sheet shows it: 'Dr Sam Lee, GP'. It may be the plan's clinician when that clinician is a doctor;"
        " a therapist, chiropractor, nurse or coach is refused."
    )
    assessed_on: Annotated[date, Field(strict=False), AfterValidator(_not_future)] = Field(
        description="The day the doctor assessed the person (YYYY-MM-DD), not in the future."
    )
    reason: Reason

    @field_validator("level", mode="before")
    @classmethod
    def _never_urgent(cls, value: Any) -> Any:
        if value == "urgent":
            raise ValueError("an urgent referral can never be cleared: the person needs medical care today")
        return value


class Plan(BaseModel):
    """A clinician's plan (format version 1): who changed the routine, what, and why."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    version: Literal[1]
    clinician: Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_printable)] = Field(
        description="Who made the changes, as the sheet shows it: 'NAME, PT'."
    )
    note: Annotated[str, Field(max_length=500), AfterValidator(_printable)] | None = Field(
        None, description="A note for the person, shown on the sheet."
    )
    remove: list[Remove] = []
    add: list[Add] = []
    dose: list[DoseChange] = []
    override: list[Override] = []
    clear: Clear | None = None
    #: The file it was read from, for messages about it (``parse_plan`` sets it).
    _label: str = PrivateAttr("plan")

    @property
    def label(self) -> str:
        """The file the plan was read from, as messages name it."""
        return self._label

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_the_number_1(cls, value: Any) -> Any:
        if type(value) is not int or value != 1:
            raise ValueError(f"must be 1 (got {short(value)})")
        return value


LISTS = ("remove", "add", "dose", "override")


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format, for programs that write plans."""
    schema = Plan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Stretchwise clinician's plan, version 1"
    return schema


# --------------------------------------------------------------------------- reading


def parse_plan(data: Any, label: str, kb: Knowledge) -> Plan:
    """Validate already-read data as a plan, against the knowledge base; ``PlanError`` names the entry."""
    if not isinstance(data, dict):
        if data is None:
            raise PlanError(f"{label}: empty file (only comments); expected a clinician's plan")
        raise PlanError(
            f"{label}: expected a mapping (version, clinician, ...) at the top level, found a {type(data).__name__}"
        )
    try:
        plan = Plan.model_validate(data)
    except ValidationError as e:
        problems = [_problem(dict(err), data) for err in e.errors()]
        _raise(label, problems)
    _raise(label, check_plan(plan, kb))
    plan._label = label
    return plan


def _raise(label: str, problems: list[dict[str, str]]) -> None:
    if not problems:
        return
    lines = [f"{label}: {p['field']}: {p['message']}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"{label}: and {len(problems) - MAX_PROBLEMS} more problems like these")
    raise PlanError("\n".join(lines), problems[:MAX_PROBLEMS])


def entry_name(kind: str, index: int, item: Any) -> str:
    """An entry as messages name it: ``add chin_tuck``, or ``add[2]`` when it names no exercise."""
    exercise = item.get("exercise") if isinstance(item, dict) else getattr(item, "exercise", None)
    if isinstance(exercise, str) and exercise and len(exercise) <= 60:
        return f"{kind} {key_text(exercise)}"
    return f"{kind}[{index}]"


_FIELDS: dict[str, type[BaseModel]] = {
    "remove": Remove,
    "add": Add,
    "dose": DoseChange,
    "override": Override,
    "clear": Clear,
}


def _problem(error: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """One pydantic error in our own words, naming the entry by its exercise."""
    loc = error["loc"]
    parts: list[str] = []
    model: type[BaseModel] = Plan
    if loc and loc[0] in LISTS and len(loc) > 1 and isinstance(loc[1], int):
        items = data.get(loc[0])
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        parts.append(entry_name(str(loc[0]), loc[1], item))
        model, rest = _FIELDS[str(loc[0])], loc[2:]
    elif loc and loc[0] == "clear":
        parts.append("clear")
        model, rest = Clear, loc[1:]
    else:
        rest = loc
    if rest:
        parts.append(".".join(key_text(p) for p in rest))
    field = ": ".join(parts) or "(top level)"
    return {"field": field, "message": _describe(error, model, rest)}


def _describe(error: dict[str, Any], model: type[BaseModel], rest: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "missing":
        why = {
            "reason": "every change needs a reason",
            "assessed_by": "a see-a-doctor-first referral is cleared only once a doctor has assessed the person:"
            " name the doctor and their role, as 'Dr Sam Lee, GP' or 'Dr Ana Costa, oncologist'",
            "assessed_on": "the day the doctor assessed the person, as YYYY-MM-DD",
        }.get(str(rest[-1]) if rest else "")
        return f"is required ({why})" if why else "is required"
    if kind == "extra_forbidden":
        known = [n for n in model.model_fields]
        return f"is not a known field{_suggest(str(rest[-1]) if rest else '', known, 'fields')}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind.startswith("date_"):
        return f"must be a day that exists, as YYYY-MM-DD (got {short(error.get('input'))})"
    return error_words(error, field_bounds(rest[-1], model) if rest else None)


def _suggest(word: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]}?"
    return f"; the {what} are: {', '.join(known)}" if len(known) <= 8 else ""


# --------------------------------------------------------------------------- against the knowledge


def protected(kb: Knowledge, rule_id: str) -> bool:
    """True for a rule no plan can set aside: a safety rule, or one that tests a red flag."""
    if kb.rule_files.get(rule_id, "").endswith("safety.yaml"):
        return True
    return any(
        getattr(t, "answer", None) == "red_flags"
        for alt in kb.alternatives[rule_id]
        for t in (*alt.facts, *alt.negated)
    )


def check_plan(plan: Plan, kb: Knowledge) -> list[dict[str, str]]:
    """What in a valid plan does not fit the knowledge base: one problem per entry and field."""
    problems: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    if plan.clear is not None:  # the plan's clinician may be the doctor, but in one name and one role
        who, by = role_words(plan.clinician), role_words(plan.clear.assessed_by)
        if who[0] == by[0] and who[1] != by[1]:
            bad(
                "clear: assessed_by",
                f"names the plan's clinician ({plan.clinician}) with another role: a clinician who is also the"
                " doctor who assessed the person writes the same name and role in both",
            )
    seen: dict[str, set[str]] = {kind: set() for kind in LISTS}
    for kind in LISTS:
        entries: list[Any] = getattr(plan, kind)
        for i, entry in enumerate(entries):
            name = entry_name(kind, i, entry)
            ex = kb.exercises.get(entry.exercise)
            if ex is None:
                bad(
                    f"{name}: exercise",
                    f"no exercise {entry.exercise!r}{_suggest(entry.exercise, list(kb.exercises), 'exercises')}",
                )
                continue
            key = entry.exercise if kind != "override" else f"{entry.exercise}/{entry.rule}"
            if key in seen[kind]:
                bad(name, f"is listed twice in {kind}")
            seen[kind].add(key)
            if (
                kind == "add"
                and entry.variant is not None
                and entry.variant not in {v.id for v in ex.variants}
            ):
                ways = [v.id for v in ex.variants]
                bad(
                    f"{name}: variant",
                    f"{ex.id} has no variant {entry.variant!r}{_suggest(entry.variant, ways, 'variants')}",
                )
            if kind == "dose" and entry.hold_seconds is not None and ex.dose.hold_seconds is None:
                bad(
                    f"{name}: hold_seconds",
                    f"{ex.name} is done in repetitions, not held; change reps or sets",
                )
            if kind == "override":
                _check_override(kb, name, entry, problems)
    for exercise in sorted(seen["add"] & seen["remove"]):
        bad(f"remove {exercise}", "is also added: a plan either adds or removes an exercise")
    overridden = {o.exercise for o in plan.override}
    for exercise in sorted(overridden & seen["remove"]):
        bad(
            f"remove {exercise}",
            "is also overridden, which puts it in the routine: a plan either adds or removes an exercise",
        )
    for exercise in sorted(seen["dose"] & seen["remove"]):
        bad(f"dose {exercise}", "is removed by the same plan, so it has no dose to change")
    return problems


def _check_override(kb: Knowledge, name: str, entry: Override, problems: list[dict[str, str]]) -> None:
    rule = kb.by_rule.get(entry.rule)
    if rule is None:
        close = _suggest(entry.rule, [r.id for r in kb.rules if r.then.exclude is not None], "rules")
        problems.append({"field": f"{name}: rule", "message": f"no rule {entry.rule!r}{close}"})
    elif protected(kb, rule.id):
        problems.append(
            {
                "field": f"{name}: rule",
                "message": f"{rule.id} guards against a serious cause (a red flag); a plan can never set it aside",
            }
        )
    elif rule.then.exclude is None:
        problems.append(
            {
                "field": f"{name}: rule",
                "message": f"{rule.id} is not an exclusion (it concludes {rule.then.kind}); a plan can set aside only"
                " a rule that rules an exercise out",
            }
        )
    elif not any(c[0] == entry.exercise for c in kb.covered[rule.id]):
        covering = [
            r
            for r in kb.covered
            if any(c[0] == entry.exercise for c in kb.covered[r]) and not protected(kb, r)
        ]
        hint = f"; rules that can: {', '.join(covering)}" if covering else ""
        problems.append(
            {"field": f"{name}: rule", "message": f"{rule.id} does not rule out {entry.exercise}{hint}"}
        )
