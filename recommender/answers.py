"""The answers a person gives: the public answers format, version 1.

The model is strict: required fields must be written out (a safety screen that
was never asked must not read as "no red flags"), unknown keys are errors, and
values are never coerced across types (``"5"`` is not a pain score).
"""

from __future__ import annotations

import functools
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

#: Largest answers file we read. A complete answers file is about 1 kB; past
#: 64 kB the pure-Python YAML reader alone could take more than a second.
MAX_BYTES = 64_000
#: Most values (mappings, lists and scalars) an answers file may hold, and how
#: deep it may nest: a complete file has about 80 values, two levels deep.
MAX_VALUES = 2_000
MAX_DEPTH = 20
#: Longest number read as a number: ``int()`` of a long text is slow, and
#: refused past 4300 digits. A longer one is kept as a ``LongNumber``, so the
#: field it was given for reports it.
MAX_DIGITS = 30
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
    equipment: list[Equipment] = []
    minutes: int = Field(10, ge=5, le=60, description="Minutes per session.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_the_number_1(cls, value: Any) -> Any:
        # Literal[1] alone compares by equality, so true and 1.0 would pass as 1.
        if type(value) is not int:
            raise ValueError(f"must be one of 1 (got {_short(value)})")
        return value

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
        bounds = _bounds(error["loc"][0])
        return f"{bounds or error['msg'].lower()} (got {_short(got)})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')} (got {_short(got)})"
    if kind == "too_short" and isinstance(got, list):
        return "must list at least one item"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if isinstance(got, LongNumber):
        return f"{_bounds(error['loc'][0]) or 'must be a whole number'} (got {got!r})"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        expected = kind.split("_")[0].replace("int", "a whole number").replace("bool", "true or false")
        expected = {"string": "text", "list": "a list", "model": "a mapping"}.get(expected, expected)
        return f"must be {expected} (got {_short(got)})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']} (got {_short(got)})"


def _bounds(name: Any) -> str | None:
    """``must be between LOW and HIGH`` for a number field with both bounds, else None."""
    field = Answers.model_fields.get(str(name))
    low = high = None
    for meta in getattr(field, "metadata", []):
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return f"must be between {low} and {high}" if low is not None and high is not None else None


def _short(value: Any) -> str:
    text = repr(value)  # repr escapes control and other unprintable characters
    return text if len(text) <= 40 else text[:37] + "..."


class LongNumber:
    """A number too long to read (over ``MAX_DIGITS`` digits): no field accepts it."""

    def __init__(self, text: str) -> None:
        self.length = len(text.strip().lstrip("+-"))

    def __repr__(self) -> str:
        return f"a number {self.length} characters long"


def _key(item: Any) -> str:
    """A key as the message shows it: a field name as written, anything else quoted and escaped."""
    text = str(item)
    if text.isidentifier() and text.isascii() and len(text) <= 40:
        return text
    return _short(text)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [_key(loc[0])] if loc else ["(top level)"]
    for item in loc[1:]:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{_key(item)}")
    return "".join(parts)


def parse_answers(data: Any, label: str) -> Answers:
    """Validate already-parsed data as answers; ``label`` names the file in errors."""
    if not isinstance(data, dict):
        if data is None:
            raise AnswersError(f"{label}: empty file (only comments); expected answers in YAML or JSON")
        raise AnswersError(f"{label}: expected a mapping of answers at the top level, found a {type(data).__name__}")
    if "resourceType" in data:  # a FHIR resource: a QuestionnaireResponse is read as answers
        from .fhir import from_response

        return from_response(data, label)
    try:
        return Answers.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        problems = [{"field": _where(err["loc"]), "message": _describe(dict(err))} for err in errors[:MAX_PROBLEMS]]
        lines = [f"{label}: {p['field']}: {p['message']}" for p in problems]
        if len(errors) > MAX_PROBLEMS:
            lines.append(f"{label}: and {len(errors) - MAX_PROBLEMS} more problems like these")
        raise AnswersError("\n".join(lines), problems) from None


def parse_text(text: str, label: str) -> Any:
    """Parse JSON or YAML, chosen by content; YAML through the safe loader only."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        return parse_json(text.lstrip("\ufeff"), label)
    import yaml  # here, not at the top: most commands never read YAML

    try:
        return yaml.load(text, Loader=_loader())
    except _GivenTwice as e:
        raise AnswersError(f"{label}: {_key(e.key)}: is given twice (line {e.line + 1})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise AnswersError(f"{label}: not valid YAML: {problem}{where}") from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops nesting long before
        raise AnswersError(f"{label}: not valid YAML: nested too deeply") from None


def parse_json(text: str, label: str) -> Any:
    """Parse JSON answers with the same limits as YAML.

    A key given twice is an error (json would keep the last silently, so
    ``red_flags`` written twice could drop a red flag); numbers too long to
    read become ``LongNumber``; size, nesting and lone surrogates are checked.
    """

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise AnswersError(f"{label}: {_key(key)}: is given twice")
            out[key] = value
        return out

    try:
        data = json.loads(text, parse_int=_int, object_pairs_hook=members)
    except json.JSONDecodeError as e:
        raise AnswersError(f"{label}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise AnswersError(f"{label}: not valid JSON: nested too deeply") from None
    values, stack = 0, [(data, 1)]
    while stack:  # iterative: the depth is what is being checked
        node, depth = stack.pop()
        values += 1
        if depth > MAX_DEPTH:
            raise AnswersError(f"{label}: not valid answers: nested more than {MAX_DEPTH} levels deep")
        if values > MAX_VALUES:
            raise AnswersError(f"{label}: not valid answers: more than {MAX_VALUES} values")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            stack.extend((k, depth + 1) for k in node)
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as e:  # a lone surrogate, from a \ud800 escape
                raise AnswersError(
                    f"{label}: not valid JSON: {_short(node)} holds half of a surrogate pair"
                    f" (\\u{ord(node[e.start]):04x}), not a character"
                ) from None
    return data


def _int(text: str) -> int | LongNumber:
    return LongNumber(text) if len(text) > MAX_DIGITS else int(text)


class _GivenTwice(Exception):
    """A mapping key given twice in YAML (the loader would keep the last silently)."""

    def __init__(self, key: Any, line: int) -> None:
        self.key, self.line = key, line


def _loader() -> Any:
    """The safe YAML loader, refusing aliases (they can expand exponentially).

    Scanning and parsing run in libyaml when PyYAML has it (the pure-Python
    reader needs about a second for 50 kB of plain text); composing and
    constructing stay in Python, where the limits are checked: at most
    ``MAX_VALUES`` values and ``MAX_DEPTH`` levels, no key given twice,
    numbers too long to read kept as ``LongNumber``, a date that does not
    exist (2023-02-30) kept as text, and a tag on a value it cannot read
    (``!!int three``) reported as a YAML error. Each of these reaches the
    field the value was given for, or names the line.
    """
    return _answers_loader()


@functools.cache
def _answers_loader() -> Any:
    import yaml
    from yaml.composer import Composer, ComposerError
    from yaml.constructor import ConstructorError, SafeConstructor
    from yaml.resolver import Resolver

    class _Checks:
        values = 0
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
                event = self.peek_event()  # type: ignore[attr-defined]
                raise ComposerError(None, None, "aliases (*name) are not allowed in an answers file", event.start_mark)
            self.values += 1
            if self.values > MAX_VALUES:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise ComposerError(None, None, f"more than {MAX_VALUES} values in an answers file", mark)
            if self.depth >= MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)  # type: ignore[misc]
            finally:
                self.depth -= 1

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)  # type: ignore[misc]
            except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError):
                # an explicit tag on a value it cannot read: !!int abc, !!bool maybe, !!timestamp x
                tag = node.tag.rsplit(":", 1)[-1]
                raise ConstructorError(None, None, f"cannot read {_short(node.value)} as {tag}", node.start_mark) from None

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            mapping = super().construct_mapping(node, deep)  # type: ignore[misc]
            if len(mapping) < len(node.value):
                seen: list[Any] = []
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=True)
                    if key in seen:
                        raise _GivenTwice(key, key_node.start_mark.line)
                    seen.append(key)
            return mapping

        def construct_scalar(self, node: Any) -> Any:
            value = super().construct_scalar(node)  # type: ignore[misc]
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:  # a lone surrogate, from a "\ud800" escape
                char = f"\\u{ord(value[e.start]):04x}"
                raise ConstructorError(
                    None, None, f"{char} is half of a surrogate pair, not a character", node.start_mark
                ) from None
            return value

        def construct_yaml_int(self, node: Any) -> Any:
            if len(node.value) > MAX_DIGITS:
                return LongNumber(node.value)  # int() of a long text is slow, base 60 even more
            return super().construct_yaml_int(node)  # type: ignore[misc]

        def construct_yaml_float(self, node: Any) -> Any:
            if len(node.value) > MAX_DIGITS:
                return LongNumber(node.value)  # 1:30:...:30.5 with many parts overflows
            return super().construct_yaml_float(node)  # type: ignore[misc]

        def construct_yaml_timestamp(self, node: Any) -> Any:
            try:
                return super().construct_yaml_timestamp(node)  # type: ignore[misc]
            except (ValueError, OverflowError):
                return self.construct_scalar(node)

    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml: the pure-Python parser, slower
        loader: Any = type("_AnswersLoader", (_Checks, yaml.SafeLoader), {})
    else:

        class _AnswersLoader(_Checks, Composer, CParser, SafeConstructor, Resolver):
            def __init__(self, stream: Any) -> None:
                CParser.__init__(self, stream)
                Composer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)

        loader = _AnswersLoader
    loader.add_constructor("tag:yaml.org,2002:int", _Checks.construct_yaml_int)
    loader.add_constructor("tag:yaml.org,2002:float", _Checks.construct_yaml_float)
    loader.add_constructor("tag:yaml.org,2002:timestamp", _Checks.construct_yaml_timestamp)
    return loader


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
    """Read and validate an answers file (YAML or JSON; ``-`` reads stdin), or a FHIR
    QuestionnaireResponse to the Stretchwise questionnaire (recognised by its resourceType)."""
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
