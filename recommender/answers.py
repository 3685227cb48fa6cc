"""The answers a person gives: the public answers format, version 1, and its messages.

The model is strict: required fields must be written out (a safety screen that
was never asked must not read as "no red flags"), unknown keys are errors, and
values are never coerced across types (``"5"`` is not a pain score).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from .errors import AnswersError
from .reading import LongNumber, key_text, short

Area = Literal["neck", "upper_back", "mid_back", "low_back"]
RedFlag = Literal[
    "bladder_bowel_change",
    "saddle_numbness",
    "progressive_weakness",
    "fever",
    "weight_loss",
    "cancer_history",
    "trauma",
    "night_pain",
    "dizziness_neck_movement",
    "clumsy_hands_or_gait",
    "sudden_severe_headache",
    "immune_suppression",
    "vision_speech_or_swallowing",
]
Numbness = Literal["none", "arm", "leg", "both"]
Posture = Literal["forward_head", "rounded_shoulders", "shoulders_raised", "swayback"]
Stress = Literal["low", "moderate", "high"]
Movement = Literal["bending_forward", "bending_backward", "sitting", "standing", "turning_head"]
Condition = Literal["osteoporosis", "pregnancy", "disc_herniation", "recent_surgery", "hypermobility"]
Equipment = Literal["chair", "wall", "doorway", "pillow", "towel", "kettlebell"]
Change = Literal["much_better", "better", "same", "worse", "much_worse"]
#: The check-in fields of a follow-up visit (issue 20): unsaid on a first visit.
CHECK_IN_FIELDS = ("days_done", "overall_change")
#: What unsaid equipment means: a typical home (a seat, a free wall, a doorway, a pillow or
#: cushion, a towel). A kettlebell is never assumed; a list that is given means exactly that list.
TYPICAL_HOME: tuple[Equipment, ...] = ("chair", "wall", "doorway", "pillow", "towel")

#: Problems listed one by one in an error message; the rest are counted.
MAX_PROBLEMS = 20


class Answers(BaseModel):
    """One person's answers (format version 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    version: Literal[1] = 1
    name: str = Field("", max_length=80, description="Printed on the routine.")
    age: int | None = Field(None, ge=12, le=110)
    areas: list[Area] = Field(..., min_length=1, description="Where it hurts.")
    pain: int = Field(..., ge=0, le=10, description="Worst pain in the past week, 0 to 10.")
    duration_weeks: int = Field(..., ge=0, le=5200, description="How long it has been going on.")
    red_flags: list[RedFlag] = Field(..., description="The safety screen; write [] for none.")
    numbness_or_tingling: Numbness = "none"
    sitting_hours: int = Field(0, ge=0, le=24, description="Hours sitting per day.")
    posture: list[Posture] = []
    stiff_to_turn_head: bool = False
    stress: Stress = "low"
    sleeps_on_stomach: bool = False
    worse_with: list[Movement] = []
    home_care_not_helping: bool = Field(
        False, description="Stretching or massage for 6+ weeks, no better."
    )
    conditions: list[Condition] = []
    kneeling_hurts: bool = False
    floor_ok: bool = Field(True, description="Can get down to the floor and up again.")
    equipment: list[Equipment] = Field(
        list(TYPICAL_HOME), description="What the person has; unsaid means a typical home (all but a kettlebell)."
    )
    minutes: int = Field(10, ge=5, le=60, description="Minutes per session.")
    days_done: int | None = Field(
        None, ge=0, le=14, description="Follow-up only: on how many of the last 14 days the routine was done."
    )
    overall_change: Change | None = Field(
        None, description="Follow-up only: the person's own rating since the first visit."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_the_number_1(cls, value: Any) -> Any:
        # Literal[1] alone compares by equality, so true and 1.0 would pass as 1.
        if type(value) is not int:
            raise ValueError(f"must be one of 1 (got {short(value)})")
        return value

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        if any(_unprintable(ch) for ch in value):
            raise ValueError("must not contain control characters")
        return value.strip()

    @field_validator(
        "areas", "red_flags", "posture", "worse_with", "conditions", "equipment"
    )
    @classmethod
    def _no_duplicates(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) < len(value):  # name the first item listed again
            seen: set[str] = set()
            for item in value:
                if item in seen:
                    raise ValueError(f"lists {item!r} twice")
                seen.add(item)
        # A list answer is a set: it is kept in the format's own order, so the same answers give
        # the same recommendation and digest whichever face wrote them (a FHIR response and the
        # web form list red flags in the order they are asked, a file in any order).
        return sorted(value, key=_choice_order(str(info.field_name)).__getitem__)


LIST_FIELDS = frozenset(
    name for name, f in Answers.model_fields.items() if getattr(f.annotation, "__origin__", None) is list
)


def field_kind(name: str) -> str:
    """How a rule may test a field: ``list``, ``int``, ``bool`` or ``choice``."""
    annotation = Answers.model_fields[name].annotation
    if name in LIST_FIELDS:
        return "list"
    if annotation is bool:
        return "bool"
    if annotation is int or annotation == (int | None):
        return "int"
    return "choice"


def field_choices(name: str) -> tuple[Any, ...]:
    """The allowed values of a choice field, or the item values of a list field."""
    annotation = Answers.model_fields[name].annotation
    if name in LIST_FIELDS:
        annotation = get_args(annotation)[0]
    args = get_args(annotation)
    if type(None) in args:  # an optional choice (overall_change): its values, without null
        return tuple(v for a in args if a is not type(None) for v in get_args(a))
    return args


@functools.cache
def _choice_order(name: str) -> dict[Any, int]:
    """Each allowed value of a field by its place in the format (read once a field, not once a person)."""
    return {v: i for i, v in enumerate(field_choices(name))}


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error in our own words: the answers' own cases, then the shared ones."""
    kind, got = error["type"], error.get("input")
    if kind == "missing":
        return "is required" + (" (write [] if none apply)" if error["loc"][-1] in LIST_FIELDS else "")
    if kind == "extra_forbidden":
        return "is not a known field" + _closest_field(error["loc"])
    if kind == "too_short" and isinstance(got, list):
        return "must list at least one item"
    if isinstance(got, LongNumber):
        return f"{field_bounds(error['loc'][0]) or 'must be a whole number'} (got {got!r})"
    return error_words(error, field_bounds(error["loc"][0]) if error["loc"] else None)


def error_words(error: dict[str, Any], bounds: str | None) -> str:
    """A pydantic error in our own words, for the kinds every strict file shares (answers, a
    clinician's plan); ``bounds`` is ``must be between LOW and HIGH`` for the field, if known."""
    kind, ctx, got = error["type"], error.get("ctx", {}), error.get("input")
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{bounds or error['msg'].lower()} (got {short(got)})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')} (got {short(got)})"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind.endswith(("_type", "_parsing")):
        expected = kind.split("_")[0].replace("int", "a whole number").replace("bool", "true or false")
        expected = {"string": "text", "list": "a list", "model": "a mapping", "dict": "a mapping"}.get(expected, expected)
        return f"must be {expected} (got {short(got)})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']} (got {short(got)})"


def _closest_field(loc: tuple[Any, ...]) -> str:
    """``; did you mean 'sitting_hours'?`` for a misspelled top-level field, else nothing."""
    if len(loc) != 1 or not isinstance(loc[0], str):
        return ""
    import difflib

    close = difflib.get_close_matches(loc[0].lower(), [n for n in Answers.model_fields if n != "version"], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def field_bounds(name: Any, model: type[BaseModel] | None = None) -> str | None:
    """``must be between LOW and HIGH`` for a number field with both bounds, else None."""
    field = (model or Answers).model_fields.get(str(name))
    low = high = None
    for meta in getattr(field, "metadata", []):
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return f"must be between {low} and {high}" if low is not None and high is not None else None


def _where(loc: tuple[Any, ...]) -> str:
    parts = [key_text(loc[0])] if loc else ["(top level)"]
    for item in loc[1:]:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{key_text(item)}")
    return "".join(parts)


def parse_answers(data: Any, label: str) -> Answers:
    """Validate already-parsed data as answers; ``label`` names the file in errors.

    Faces do not call this: they call ``reader.read_answers``, which reads the
    raw input strictly first (and turns a FHIR response into this shape).
    """
    if not isinstance(data, dict):
        if data is None:
            raise AnswersError(f"{label}: empty file (only comments); expected answers in YAML or JSON")
        raise AnswersError(f"{label}: expected a mapping of answers at the top level, found a {type(data).__name__}")
    try:
        return Answers.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        problems = [{"field": _where(err["loc"]), "message": _describe(dict(err))} for err in errors[:MAX_PROBLEMS]]
        lines = [f"{label}: {p['field']}: {p['message']}" for p in problems]
        if len(errors) > MAX_PROBLEMS:
            lines.append(f"{label}: and {len(errors) - MAX_PROBLEMS} more problems like these")
        raise AnswersError("\n".join(lines), problems) from None


def answer_items(answers: Answers) -> dict[str, Any]:
    """The answers as plain JSON values, without the free-text name."""
    data = _plain(answers)
    del data["name"], data["version"]
    return data


def canonical_json(answers: Answers) -> str:
    """The answers as compact JSON with sorted keys, the check-in fields only when given: the
    text ``recommendation.answers_digest`` hashes, byte for byte."""
    import json

    data = _plain(answers)
    for name in CHECK_IN_FIELDS:
        if data[name] is None:
            del data[name]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _plain(answers: Answers) -> dict[str, Any]:
    """``answers.model_dump(mode="json")``, read straight from the model's fields: each holds
    text, a whole number, true/false, null or a list of text, all JSON already (tests/test_answers.py
    checks that the two agree); several times faster. The lists are copies, as a dump's are."""
    data = dict(answers.__dict__)
    for name in LIST_FIELDS:
        data[name] = list(data[name])
    return data


def _unprintable(ch: str) -> bool:
    """A control or format character (an escape, a right-to-left override, a zero-width
    space), or half of a surrogate pair: never printed on a routine."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


@functools.cache
def _printable_pattern() -> str:
    """The JSON Schema ``pattern`` of a name: no character ``_unprintable`` refuses, for the
    Unicode version of the Python that runs (about 0.3 s, once).

    Written with the characters themselves, not escapes, so ECMA-262 (with the ``u``
    flag) and Python read it alike; surrogates are left out (JSON text cannot carry one
    alone, and the reader refuses it)."""
    bad = [cp for cp, c in enumerate(map(unicodedata.category, map(chr, range(0x110000)))) if c in ("Cc", "Cf")]
    ranges: list[list[int]] = []
    for cp in bad:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "^[^" + "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]*$"


def answers_schema() -> dict[str, Any]:
    """The JSON Schema of the answers format, for other programs that write it."""
    schema = Answers.model_json_schema()
    for spec in schema["properties"].values():
        if spec.get("type") == "array":
            spec["uniqueItems"] = True  # an item listed twice is refused (_no_duplicates)
    schema["properties"]["name"]["pattern"] = _printable_pattern()  # as _printable_name
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Stretchwise answers, version 1"
    return schema
