"""Strict reading of JSON and YAML: the one way raw input becomes plain data.

Answers (from every face) and the knowledge base (``rules/``, ``content/``)
are both read here, with the same rules:

- a mapping key given twice is an error (a parser would keep the last one
  silently, so ``red_flags`` written twice could drop a red flag, and a second
  ``when:`` could change what a rule excludes);
- size, number of values and nesting depth are limited (``Limits``);
- YAML goes through the safe loader only, with no aliases (they can expand
  exponentially), and a tag on a value it cannot read is an error;
- numbers too long to read become ``LongNumber``, so the field reports them;
- a JSON number with nothing after its point (``9.0``, ``9e0``) is that whole
  number: JSON and JSON Schema do not tell it from ``9`` (YAML does: there
  ``9.0`` stays a decimal);
- text must be UTF-8, without NUL bytes or lone surrogates.

Every message is ours, never a library's wording alone: the tests assert on
them, and a library upgrade must not change what a person reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import AnswersError, StretchwiseError


@dataclass(frozen=True)
class Limits:
    """How large a document may be."""

    max_bytes: int
    max_values: int
    max_depth: int


#: An answers document: a complete one is about 1 kB with 80 values, two levels
#: deep; past 64 kB the YAML reader alone could take a noticeable time.
ANSWERS = Limits(max_bytes=64_000, max_values=2_000, max_depth=20)
#: A knowledge file (rules, content) ships with the code, so only runaway files are refused.
KNOWLEDGE = Limits(max_bytes=4_000_000, max_values=400_000, max_depth=40)

#: Longest number read as a number: ``int()`` of a long text is slow, and
#: refused past 4300 digits.
MAX_DIGITS = 30


class LongNumber:
    """A number too long to read (over ``MAX_DIGITS`` digits): no field accepts it."""

    def __init__(self, text: str) -> None:
        self.length = len(text.strip().lstrip("+-"))

    def __repr__(self) -> str:
        return f"a number {self.length} characters long"


def short(value: Any) -> str:
    """A value as a message shows it: escaped, and cut at 40 characters."""
    text = repr(value)  # repr escapes control and other unprintable characters
    return text if len(text) <= 40 else text[:37] + "..."


def key_text(item: Any) -> str:
    """A key as a message shows it: a field name as written, anything else quoted and escaped."""
    text = str(item)
    if text.isidentifier() and text.isascii() and len(text) <= 40:
        return text
    return short(text)


def decode(raw: bytes, label: str, limits: Limits = ANSWERS, error: type[StretchwiseError] = AnswersError) -> str:
    """Bytes to text: within the size limit, UTF-8 (a BOM is dropped), no NUL byte."""
    if len(raw) > limits.max_bytes:
        raise error(f"{label}: larger than {limits.max_bytes // 1000} kB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{label}: not UTF-8 text (byte {e.start})") from None
    if "\x00" in text:
        raise error(f"{label}: binary data, not text")
    return text.removeprefix("\ufeff")


def load(text: str, label: str, limits: Limits = ANSWERS, error: type[StretchwiseError] = AnswersError) -> Any:
    """JSON or YAML, chosen by the first character: ``{`` or ``[`` starts JSON."""
    if len(text) > limits.max_bytes:  # characters, at least as strict as bytes
        raise error(f"{label}: larger than {limits.max_bytes // 1000} kB")
    if text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return load_json(text.lstrip("\ufeff"), label, limits, error)
    return load_yaml(text, label, limits, error)


# --------------------------------------------------------------------------- JSON


def load_json(text: str, label: str, limits: Limits = ANSWERS, error: type[StretchwiseError] = AnswersError) -> Any:
    """Parse JSON with the limits, refusing a key given twice."""
    try:
        data = _DECODER.decode(text)
    except _Twice as e:
        raise _twice(error, label, key_text(e.key)) from None
    except json.JSONDecodeError as e:
        raise error(f"{label}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise error(f"{label}: not valid JSON: nested too deeply") from None
    if not _surely_within(text, limits):
        _check_tree(data, label, limits, error)
    return data


def _surely_within(text: str, limits: Limits) -> bool:
    """True when the JSON text cannot break a limit ``_check_tree`` checks, so the walk would
    find nothing: every value but the top one (keys count) follows a ``[``, ``{``, ``,`` or
    ``:``, and each level of nesting opens a bracket (signs inside strings only over-count);
    a string can hold a lone surrogate only from a ``\\uD800``-``\\uDFFF`` escape or, in text
    that did not come from bytes, as itself."""
    brackets = text.count("{") + text.count("[")
    if brackets + 1 > limits.max_depth:
        return False
    if brackets + text.count(",") + text.count(":") + 1 > limits.max_values:
        return False
    if _SURROGATE_ESCAPE.search(text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: A JSON escape that may stand for half of a surrogate pair.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Twice(Exception):
    """A key given twice in a JSON object (``load_json`` names the input)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One JSON object, refused if it gives a key twice (the first key repeated is named)."""
    out = dict(pairs)
    if len(out) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Twice(key)
            seen.add(key)
    return out


def _twice(error: type[StretchwiseError], label: str, key: str, where: str = "") -> StretchwiseError:
    """A key given twice; for answers, the problem names the field (the API and batch show it)."""
    message = f"{label}: {key}: is given twice{where}"
    if issubclass(error, AnswersError):
        return error(message, [{"field": key, "message": "is given twice"}])
    return error(message)


def _int(text: str) -> int | LongNumber:
    return LongNumber(text) if len(text) > MAX_DIGITS else int(text)


def _number(text: str) -> int | float | LongNumber:
    """A JSON number written with a point or an exponent: a whole one is an ``int``."""
    if len(text) > MAX_DIGITS:
        return LongNumber(text)
    sign, whole, fraction, power = _NUMBER.fullmatch(text).groups()  # type: ignore[union-attr]
    digits = (whole + (fraction or "")).lstrip("0")
    shift = int(power or 0) - len(fraction or "")
    stripped = digits.rstrip("0")
    shift += len(digits) - len(stripped)
    if not stripped:
        return 0
    if shift < 0:
        return float(text)
    if len(stripped) + shift > MAX_DIGITS:  # 1e999999999: never made into an int
        return LongNumber(text)
    whole_number: int = int(stripped) * 10**shift
    return -whole_number if sign else whole_number


#: A JSON number's parts: sign, whole part, fraction, exponent.
_NUMBER = re.compile(r"(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?")

#: The one JSON decoder, made once (``json.loads`` with hooks builds a new one per call).
_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_number, object_pairs_hook=_members)


def _check_tree(data: Any, label: str, limits: Limits, error: type[StretchwiseError]) -> None:
    """Values, depth and lone surrogates of parsed JSON, walked without recursion."""
    values, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        values += 1
        if depth > limits.max_depth:
            raise error(f"{label}: nested more than {limits.max_depth} levels deep")
        if values > limits.max_values:
            raise error(f"{label}: more than {limits.max_values} values")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            stack.extend((k, depth + 1) for k in node)
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as e:  # a lone surrogate, from a \ud800 escape
                raise error(
                    f"{label}: not valid JSON: {short(node)} holds half of a surrogate pair"
                    f" (\\u{ord(node[e.start]):04x}), not a character"
                ) from None


# --------------------------------------------------------------------------- YAML


class _Refused(Exception):
    """A limit or rule broken while reading YAML: our own message, and where."""

    def __init__(self, message: str, mark: Any = None, key: str | None = None) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else None
        self.key = key  # a key given twice


def load_yaml(text: str, label: str, limits: Limits = ANSWERS, error: type[StretchwiseError] = AnswersError) -> Any:
    """Parse one YAML document with the safe loader, the limits and no repeated key."""
    import yaml  # here, not at the top: most commands never read YAML

    loader = _loader_class()(text)
    loader.limits = limits
    try:
        return loader.get_single_data()
    except _Refused as e:
        where = f" (line {e.line})" if e.line else ""
        if e.key is not None and not str(e).startswith("'"):  # a top-level key given twice
            raise _twice(error, label, e.key, where) from None
        raise error(f"{label}: {e}{where}") from None
    except yaml.YAMLError as e:
        # libyaml refuses some inputs (very deep nesting) before our checks see them:
        # the pure-Python event stream says which of our limits, if any, was passed first.
        _first_limit_passed(text, label, limits, error)
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{label}: not valid YAML: {problem}{where}") from None
    except RecursionError:
        raise error(f"{label}: not valid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def _first_limit_passed(text: str, label: str, limits: Limits, error: type[StretchwiseError]) -> None:
    import yaml

    depth = values = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = f" (line {event.start_mark.line + 1})" if event.start_mark else ""
                raise error(f"{label}: aliases (*name) are not allowed{line}")
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                values += 1
                if values > limits.max_values:
                    raise error(f"{label}: more than {limits.max_values} values")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.max_depth:
                    raise error(f"{label}: nested more than {limits.max_depth} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return


_LOADER: Any = None


def _loader_class() -> Any:
    """The safe loader (libyaml's when PyYAML has it), checking limits and repeated keys."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: about 10x faster

    class StrictLoader(base):  # type: ignore[misc]
        limits = ANSWERS

        def construct_document(self, node: Any) -> Any:
            _check_nodes(node, self.limits)  # before anything is built from the nodes
            return super().construct_document(node)

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError):
                # an explicit tag on a value it cannot read: !!int abc, !!bool maybe, !!timestamp x
                tag = node.tag.rsplit(":", 1)[-1]
                raise _Refused(f"not valid YAML: cannot read {short(node.value)} as {tag}", node.start_mark) from None

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            mapping = super().construct_mapping(node, deep)
            if len(mapping) < len(node.value):
                seen: list[Any] = []
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=True)
                    if key in seen:
                        owner = _owner(node)
                        raise _Refused(f"{owner}{key_text(key)}: is given twice", key_node.start_mark, key_text(key))
                    seen.append(key)
            return mapping

        def construct_scalar(self, node: Any) -> Any:
            value = super().construct_scalar(node)
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:  # a lone surrogate, from a "\ud800" escape
                char = f"\\u{ord(value[e.start]):04x}"
                raise _Refused(f"not valid YAML: {char} is half of a surrogate pair, not a character", node.start_mark) from None
            return value

        def construct_yaml_int(self, node: Any) -> Any:
            if len(node.value) > MAX_DIGITS:
                return LongNumber(node.value)  # int() of a long text is slow, base 60 even more
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node: Any) -> Any:
            if len(node.value) > MAX_DIGITS:
                return LongNumber(node.value)  # 1:30:...:30.5 with many parts overflows
            return super().construct_yaml_float(node)

        def construct_yaml_timestamp(self, node: Any) -> Any:
            try:
                return super().construct_yaml_timestamp(node)
            except (ValueError, OverflowError):  # a date that does not exist stays text
                return self.construct_scalar(node)

    StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
    StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
    StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)
    _LOADER = StrictLoader
    return _LOADER


def _owner(node: Any) -> str:
    """``'rule-id': `` when the mapping holds an ``id``, so a message names the item."""
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == "id" and isinstance(getattr(value_node, "value", None), str):
            return f"{key_text(value_node.value)}: "
    return ""


def _check_nodes(root: Any, limits: Limits) -> None:
    """Values, depth and aliases of a composed document, walked without recursion.

    The composer turns an alias into a second reference to the anchored node, so
    a node met twice is an alias.
    """
    import yaml

    seen = {id(root)}
    values, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        values += 1
        if values > limits.max_values:
            raise _Refused(f"more than {limits.max_values} values", node.start_mark)
        if depth > limits.max_depth:
            raise _Refused(f"nested more than {limits.max_depth} levels deep", node.start_mark)
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            continue
        for child in children:  # marked when first met, so an alias shows before it is walked
            if id(child) in seen:
                raise _Refused("aliases (*name) are not allowed", child.start_mark)
            seen.add(id(child))
            stack.append((child, depth + 1))
