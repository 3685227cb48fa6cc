"""The answers a person gives: the public answers format, version 1.

The model is strict: required fields must be written out (a safety screen that
was never asked must not read as "no red flags"), unknown keys are errors, and
values are never coerced across types (``"5"`` is not a pain score).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import AnswersError

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
]
Numbness = Literal["none", "arm", "leg", "both"]
Posture = Literal["forward_head", "rounded_shoulders", "shoulders_raised", "swayback"]
Stress = Literal["low", "moderate", "high"]
Movement = Literal["bending_forward", "bending_backward", "sitting", "standing", "turning_head"]
Condition = Literal["osteoporosis", "pregnancy", "disc_herniation", "recent_surgery", "hypermobility"]
Equipment = Literal["chair", "wall", "doorway", "pillow", "towel", "kettlebell"]

#: Largest answers file we read; a questionnaire's answers fit in a few kilobytes.
MAX_BYTES = 1_000_000


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
    equipment: list[Equipment] = []
    minutes: int = Field(10, ge=5, le=60, description="Minutes per session.")

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            raise ValueError("must not contain control characters")
        return value.strip()

    @field_validator(
        "areas", "red_flags", "posture", "worse_with", "conditions", "equipment"
    )
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for item in value:
            if item in seen:
                raise ValueError(f"lists {item!r} twice")
            seen.add(item)
        return value


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
    return get_args(annotation)


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error in our own words."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    got = error.get("input")
    if kind == "missing":
        return "is required" + (" (write [] if none apply)" if error["loc"][-1] in LIST_FIELDS else "")
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind in ("greater_than_equal", "less_than_equal"):
        field = Answers.model_fields.get(str(error["loc"][0]))
        low = high = None
        for meta in getattr(field, "metadata", []):
            low = getattr(meta, "ge", low)
            high = getattr(meta, "le", high)
        if low is not None and high is not None:
            return f"must be between {low} and {high} (got {got!r})"
        return f"{error['msg'].lower()} (got {got!r})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')} (got {_short(got)})"
    if kind == "too_short" and isinstance(got, list):
        return "must list at least one item"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        expected = kind.split("_")[0].replace("int", "a whole number").replace("bool", "true or false")
        expected = {"string": "text", "list": "a list", "model": "a mapping"}.get(expected, expected)
        return f"must be {expected} (got {_short(got)})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']} (got {_short(got)})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(loc[0])] if loc else ["(top level)"]
    for item in loc[1:]:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def parse_answers(data: Any, label: str) -> Answers:
    """Validate already-parsed data as answers; ``label`` names the file in errors."""
    if not isinstance(data, dict):
        if data is None:
            raise AnswersError(f"{label}: empty file (only comments); expected answers in YAML or JSON")
        raise AnswersError(f"{label}: expected a mapping of answers at the top level, found a {type(data).__name__}")
    try:
        return Answers.model_validate(data)
    except ValidationError as e:
        problems = [{"field": _where(err["loc"]), "message": _describe(dict(err))} for err in e.errors()]
        lines = [f"{label}: {p['field']}: {p['message']}" for p in problems]
        raise AnswersError("\n".join(lines), problems) from None


def parse_text(text: str, label: str) -> Any:
    """Parse JSON or YAML, chosen by content; YAML through the safe loader only."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise AnswersError(f"{label}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
        except RecursionError:
            raise AnswersError(f"{label}: not valid JSON: nested too deeply") from None
    import yaml  # here, not at the top: most commands never read YAML

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise AnswersError(f"{label}: not valid YAML: {problem}{where}") from None
    except RecursionError:
        raise AnswersError(f"{label}: not valid YAML: nested too deeply") from None


def _loader() -> Any:
    """The safe YAML loader, refusing aliases (they can expand exponentially)."""
    import yaml

    class _NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in an answers file", event.start_mark
                )
            return super().compose_node(parent, index)

    return _NoAliases


def read_text(path: str) -> tuple[str, str]:
    """Read an answers file (``-`` for stdin) as UTF-8; returns (text, label)."""
    if path == "-":
        label = "<stdin>"
        raw = sys.stdin.buffer.read(MAX_BYTES + 1)
    else:
        label = path
        p = Path(path)
        try:
            if p.is_dir():
                raise AnswersError(f"{label}: is a directory, not an answers file")
            with p.open("rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
        except FileNotFoundError:
            raise AnswersError(f"{label}: no such file") from None
        except PermissionError:
            raise AnswersError(f"{label}: permission denied") from None
        except OSError as e:
            raise AnswersError(f"{label}: cannot read: {e.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise AnswersError(f"{label}: larger than {MAX_BYTES // 1000} kB; an answers file is a few lines")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AnswersError(f"{label}: not UTF-8 text (byte {e.start})") from None
    if "\x00" in text:
        raise AnswersError(f"{label}: binary data, not an answers file")
    if not text.strip():
        raise AnswersError(f"{label}: empty file; expected answers in YAML or JSON")
    return text, label


def load_answers(path: str) -> Answers:
    """Read and validate an answers file (YAML or JSON; ``-`` reads stdin)."""
    text, label = read_text(path)
    return parse_answers(parse_text(text, label), label)


def answer_items(answers: Answers) -> dict[str, Any]:
    """The answers as plain JSON values, without the free-text name."""
    data = answers.model_dump(mode="json", exclude={"name", "version"})
    return data


def answers_schema() -> dict[str, Any]:
    """The JSON Schema of the answers format, for other programs that write it."""
    schema = Answers.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Stretchwise answers, version 1"
    return schema
