"""Bad input of every class, through the command line (issue 10).

Two tables. FIELD_CASES puts every answers field against eight classes of bad
value (missing, null, wrong type, out of range, unknown enum value, duplicate
list item, very long string, unicode and control characters); a class that
cannot apply to a field is listed in NOT_APPLICABLE with the reason, and a
test keeps the two tables complete. FILE_CASES covers the file as a whole.

Every case runs ``stretchwise recommend FILE -o OUT`` with OUT already there,
and must: exit 2 with a message naming the file (and the field, for field
cases), print no traceback and no raw control character, finish within a
second with bounded memory, leave OUT's bytes as they were and create no
other file. Field cases run in both JSON and YAML.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BASE

from recommender.answers import Answers, field_choices, parse_answers
from recommender.reading import ANSWERS
from recommender.reading import load as parse_text

MAX_BYTES = ANSWERS.max_bytes
from recommender.cli import cli
from recommender.errors import AnswersError

CLASSES = (
    "missing",
    "null",
    "wrong type",
    "out of range",
    "unknown enum value",
    "duplicate list item",
    "very long string",
    "unicode and control characters",
)
FIELDS = [f for f in Answers.model_fields]
REQUIRED = [f for f, info in Answers.model_fields.items() if info.is_required()]
LISTS = ["areas", "red_flags", "posture", "worse_with", "conditions", "equipment"]
NUMBERS = {"age": (12, 110), "pain": (0, 10), "duration_weeks": (0, 5200), "sitting_hours": (0, 24), "minutes": (5, 60),
           "days_done": (0, 14)}
BOOLS = ["stiff_to_turn_head", "sleeps_on_stomach", "home_care_not_helping", "kneeling_hurts", "floor_ok"]
CHOICES = ["numbness_or_tingling", "stress", "overall_change"]
LONG = "x" * 50_000
ESC = "\x1b[2J\x1b[31m"  # clear the screen, turn red: must never reach a terminal raw

#: (field, class) -> why the class cannot apply to that field.
NOT_APPLICABLE: dict[tuple[str, str], str] = {}
for f in set(FIELDS) - set(REQUIRED):
    NOT_APPLICABLE[f, "missing"] = "optional: a missing answer takes its default"
NOT_APPLICABLE["age", "null"] = "null is how age says 'not given'"
# the follow-up check-in (issue 20): null is how a first visit leaves it unsaid
NOT_APPLICABLE["days_done", "null"] = NOT_APPLICABLE["overall_change", "null"] = "null: not a follow-up visit"
for f in set(FIELDS) - set(NUMBERS) - {"areas"}:
    NOT_APPLICABLE[f, "out of range"] = {
        "name": "free text has no range (see very long string)",
        "version": "a single allowed value (see unknown enum value)",
    }.get(f, "true/false or a choice: no range (see wrong type, unknown enum value)" if f not in LISTS
          else "any number of items from none to every choice is allowed (see duplicate list item)")
for f in list(NUMBERS) + BOOLS + ["name"]:
    NOT_APPLICABLE[f, "unknown enum value"] = "not a choice field"
for f in set(FIELDS) - set(LISTS):
    NOT_APPLICABLE[f, "duplicate list item"] = "not a list"


def _field_cases() -> list[tuple[str, str, str, Any, str]]:
    """(field, class, label, value or MISSING, words the message must hold)."""
    cases: list[tuple[str, str, str, Any, str]] = []

    def add(field: str, cls: str, value: Any, words: str, label: str = "") -> None:
        cases.append((field, cls, label or repr(value)[:30], value, words))

    for field in FIELDS:
        choices = list(field_choices(field)) if field not in ("name", "age", "version") and field not in NUMBERS else []
        if field in REQUIRED:
            add(field, "missing", MISSING, "is required", "absent")
        if (field, "null") not in NOT_APPLICABLE:
            add(field, "null", None, "must be")
        # wrong type
        if field in NUMBERS:
            for v in ("5", 5.5, True, [5]):
                add(field, "wrong type", v, "must be a whole number")
        elif field in BOOLS:
            for v in ("yes", 1, "true"):
                add(field, "wrong type", v, "must be true or false")
        elif field in LISTS:
            for v in (choices[0], {choices[0]: True}, 3):
                add(field, "wrong type", v, "must be a list")
            add(field, "wrong type", [1], "must be one of", "[1]")
        elif field in CHOICES:
            for v in (3, [choices[0]], True):
                add(field, "wrong type", v, "must be one of")
        elif field == "name":
            for v in (5, ["Sam"], {"first": "Sam"}):
                add(field, "wrong type", v, "must be text")
        elif field == "version":
            # 1.5, not 1.0: in JSON, 1.0 is the number 1 (reading.py); YAML 1.0 is below
            for v in ("1", 1.5, True):
                add(field, "wrong type", v, "must be one of 1")
        # out of range
        if field in NUMBERS:
            low, high = NUMBERS[field]
            for v in (low - 1, high + 1, -(10**12), 10**40):
                add(field, "out of range", v, f"must be between {low} and {high}", str(v)[:12])
        if field == "areas":
            add(field, "out of range", [], "must list at least one item")
        # unknown enum value
        if field in CHOICES:
            for v in (choices[0].upper(), "sometimes", ""):
                add(field, "unknown enum value", v, "must be one of")
        if field in LISTS:
            for v in ([choices[0] + "s"], [choices[0], "knee"], [""]):
                add(field, "unknown enum value", v, "must be one of")
        if field == "version":
            for v in (2, 0):
                add(field, "unknown enum value", v, "must be one of 1")
        # duplicate list item
        if field in LISTS:
            add(field, "duplicate list item", [choices[0], choices[0]], "twice")
            add(field, "duplicate list item", choices + [choices[-1]], "twice", "every item, the last twice")
        # very long string
        if field == "name":
            add(field, "very long string", "x" * 81, "must be at most 80 characters", "81 characters")
            add(field, "very long string", LONG, "must be at most 80 characters", "50,000 characters")
        elif field in LISTS:
            add(field, "very long string", [LONG], "must be one of", "an item of 50,000 characters")
            add(field, "very long string", LONG, "must be a list", "50,000 characters")
        else:
            add(field, "very long string", LONG, "must be", "50,000 characters")
        # unicode and control characters
        if field == "name":
            for v, label in (("Sam" + ESC, "escape sequence"), ("\u202eSam", "right-to-left override"),
                             ("Sam\x7f", "delete control"), ("Sam\u200b", "zero-width space")):
                add(field, "unicode and control characters", v, "must not contain control characters", label)
        elif field in NUMBERS:
            add(field, "unicode and control characters", "\uff15", "must be a whole number", "fullwidth digit")
            add(field, "unicode and control characters", "5" + ESC, "must be a whole number", "digit + escape")
        elif field in BOOLS:
            add(field, "unicode and control characters", "\uff54\uff52\uff55\uff45", "must be true or false",
                "fullwidth true")
            add(field, "unicode and control characters", "true" + ESC, "must be true or false", "true + escape")
        elif field in LISTS:
            add(field, "unicode and control characters", ["".join(chr(0xFF00 + ord(c) - 0x20) for c in choices[0])],
                "must be one of", "fullwidth choice")
            add(field, "unicode and control characters", [choices[0] + ESC], "must be one of", "choice + escape")
        elif field in CHOICES:
            add(field, "unicode and control characters", choices[0] + "\u200b", "must be one of", "zero-width")
            add(field, "unicode and control characters", choices[0] + ESC, "must be one of", "choice + escape")
        elif field == "version":
            add(field, "unicode and control characters", "\uff11", "must be one of 1", "fullwidth one")
            add(field, "unicode and control characters", "1" + ESC, "must be one of 1", "one + escape")
    return cases


MISSING = object()
FIELD_CASES = _field_cases()


def test_the_table_covers_every_field_and_class():
    given = {(f, c) for f, c, *_ in FIELD_CASES}
    for field in FIELDS:
        for cls in CLASSES:
            assert ((field, cls) in given) != ((field, cls) in NOT_APPLICABLE), (field, cls)


# --------------------------------------------------------------------------- running one case

#: Ceilings for one bad input: wall time (with tracemalloc on, when it is, so
#: conservative) and the peak of Python memory allocated during the run (the
#: knowledge base, loaded from its cache by every run, is about 1 MB of it).
SECONDS = 2.0  # about 0.3 s on a quiet machine; the margin is for a loaded CI box
PEAK_BYTES = 25_000_000


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """Load the knowledge (and its cache) once, so a case times only its own input."""
    from click.testing import CliRunner

    path = tmp_path_factory.mktemp("warm") / "a.json"
    path.write_text(json.dumps(BASE))
    CliRunner().invoke(cli, ["recommend", str(path)])


def refuse(runner: Any, tmp_path: Path, target: Path, *words: str, trace: bool = True) -> str:
    """Run recommend on ``target`` and check everything a refusal must be; returns stderr.

    ``trace`` measures the memory peak too (tracemalloc roughly triples the time).
    """
    out = tmp_path / "routine.txt"
    out.write_bytes(b"the routine from last week\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        result = runner.invoke(cli, ["recommend", str(target), "-o", str(out)])
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    err = result.stderr
    assert f"{target}: " in err, err[:300]
    for w in words:
        assert w in err, (w, err[:500])
    assert "\x1b" not in err and "\x00" not in err and "\u202e" not in err, "a raw control character was printed"
    assert len(err) < 5_000, f"a message of {len(err)} characters"
    assert seconds < SECONDS, f"took {seconds:.2f} s"
    assert peak < PEAK_BYTES, f"peak {peak / 1e6:.1f} MB"
    assert out.read_bytes() == b"the routine from last week\n", "the output file was touched"
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "a file was created"
    return err


def _write(path: Path, data: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True, width=10**6), encoding="utf-8")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize(
    "field,cls,label,value,words",
    FIELD_CASES,
    ids=[f"{f}-{c}-{lb}".replace(" ", "_") for f, c, lb, _, _ in FIELD_CASES],
)
def test_a_bad_field_exits_2_naming_file_and_field(runner, tmp_path, warm, fmt, field, cls, label, value, words):
    data = dict(BASE)
    if value is MISSING:
        data.pop(field)
    else:
        data[field] = value
    path = tmp_path / f"answers.{fmt}"
    _write(path, data, fmt)
    # memory is measured on the JSON runs and on long strings: the YAML runs parse the same values
    err = refuse(runner, tmp_path, path, words, trace=fmt == "json" or cls == "very long string")
    assert f"{path}: {field}" in err, err[:300]


# --------------------------------------------------------------------------- the file as a whole

GOOD = "areas: [neck]\npain: 3\nduration_weeks: 2\nred_flags: []\n"
#: 2**30 copies of one word from 30 lines: refused before any expansion.
LAUGHS = "a0: &a0 [lol, lol]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 30)) + GOOD


def _huge(path: Path) -> None:
    """A 50 MB file that starts like good answers."""
    with path.open("wb") as fh:
        fh.write(GOOD.encode())
        chunk = b"# " + b"padding " * 127 + b"\n"
        for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
            fh.write(chunk)


def _bytes(data: bytes) -> Any:
    return lambda p: p.write_bytes(data)


def _text(text: str) -> Any:
    return lambda p: p.write_text(text, encoding="utf-8")


MARKER = Path("/tmp/stretchwise-robustness-marker")

#: (case, how to make the answers path, words the message must hold)
FILE_CASES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("empty", _bytes(b""), ("empty file",)),
    ("only blank lines", _text("\n \n\t\n"), ("empty file",)),
    ("only a comment", _text("# nothing yet\n"), ("empty file",)),
    ("not UTF-8 (Latin-1)", _bytes("name: Jos\xe9\n".encode("latin-1") + GOOD.encode()), ("not UTF-8",)),
    ("not UTF-8 (UTF-16)", _bytes(GOOD.encode("utf-16")), ("not UTF-8",)),
    ("binary", _bytes(bytes(range(256)) * 4), ("not UTF-8",)),
    ("binary that decodes", _bytes(GOOD.encode() + b"\x00\x01\x02"), ("binary data",)),
    ("a PNG", _bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), ("not UTF-8",)),
    ("not YAML", _text("areas: [neck\npain: 3\n"), ("not valid YAML", "line")),
    ("not YAML (tab indent)", _text("areas:\n\t- neck\n"), ("not valid YAML",)),
    ("not JSON", _text('{"areas": ["neck"], "pain": 3,'), ("not valid JSON", "line 1")),
    ("INI, not answers", _text("[answers]\npain = 3\n"), ("not valid JSON",)),
    ("a list at top level (YAML)", _text("- neck\n- low_back\n"), ("found a list",)),
    ("a list at top level (JSON)", _text('[{"areas": ["neck"]}]'), ("found a list",)),
    ("a number at top level", _text("42\n"), ("found a int",)),
    ("a string at top level", _text('"answers"\n'), ("found a str",)),
    ("two YAML documents", _text(GOOD + "---\n" + GOOD), ("not valid YAML",)),
    ("a directory", lambda p: p.mkdir(), ("is a directory",)),
    ("a missing file", lambda p: None, ("no such file",)),
    ("a 50 MB file", _huge, ("larger than",)),
    ("just over the limit", _text(GOOD + "#" * MAX_BYTES), ("larger than",)),
    ("YAML aliases that expand exponentially", _text(LAUGHS), ("aliases",)),
    ("a YAML merge of an alias", _text("base: &b {pain: 3}\n<<: *b\nareas: [neck]\n"), ("aliases",)),
    ("YAML tag: python object", _text(f"areas: !!python/object/apply:os.system ['touch {MARKER}']\n"),
     ("not valid YAML", "python/object/apply")),
    ("YAML tag: python name", _text("pain: !!python/name:os.system\n" + GOOD), ("not valid YAML",)),
    ("YAML tag: python new object", _text("pain: !!python/object/new:subprocess.Popen [['true']]\n"),
     ("not valid YAML",)),
    ("YAML tag: unknown local tag", _text("pain: !custom 3\n"), ("not valid YAML",)),
    ("YAML tag: !!int on text", _text("areas: [neck]\npain: !!int three\nduration_weeks: 2\nred_flags: []\n"),
     ("not valid YAML", "cannot read 'three' as int")),
    ("deeply nested JSON (60,000 [)", _text("[" * 60_000), ("nested too deeply",)),
    ("deeply nested JSON objects", _text('{"a":' * 12_000), ("nested too deeply",)),
    ("nested JSON that closes", _text('{"pain": ' + "[" * 500 + "]" * 500 + "}"), ("nested more than",)),
    ("deeply nested YAML", _text("pain: " + "[" * 30_000), ("nested more than",)),
    ("too many YAML values", _text("red_flags: [" + "fever, " * 8_000 + "]\n"), ("more than 2000 values",)),
    ("too many JSON values", _text('{"red_flags": [' + '"fever",' * 7_000 + '"fever"]}'), ("more than 2000 values",)),
]


@pytest.mark.parametrize("case,make,words", FILE_CASES, ids=[c[0].replace(" ", "_") for c in FILE_CASES])
def test_a_bad_file_exits_2_naming_the_file(runner, tmp_path, warm, case, make, words):
    MARKER.unlink(missing_ok=True)
    path = tmp_path / ("answers" if case == "a directory" else "answers.yaml")
    make(path)
    refuse(runner, tmp_path, path, *words)
    assert not MARKER.exists(), "a YAML tag ran code"


def test_an_endless_device_is_refused(runner, tmp_path, warm):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    refuse(runner, tmp_path, Path("/dev/zero"), "larger than")


def test_fifty_megabytes_on_stdin_are_refused(runner, tmp_path, warm):
    out = tmp_path / "routine.txt"
    out.write_bytes(b"old\n")
    big = GOOD + "#" * (50 * 1024 * 1024)
    start = time.perf_counter()
    result = runner.invoke(cli, ["recommend", "-", "-o", str(out)], input=big)
    assert time.perf_counter() - start < SECONDS
    assert result.exit_code == 2 and "<stdin>: larger than" in result.stderr
    assert out.read_bytes() == b"old\n"


# --------------------------------------------------------------------------- bugs found, kept found


def _y(line: str) -> str:
    """A YAML answers file: one line under test, the base answers for the other fields."""
    key = line.split(":")[0]
    return line + "\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in BASE.items() if k != key)


def _j(member: str) -> str:
    """A JSON answers file: one member under test, the base answers for the other fields."""
    others = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in BASE.items() if f'"{k}"' not in member)
    return "{" + member + ", " + others + "}"


REGRESSIONS = [
    # A number past 4300 digits made int() raise ValueError: a traceback, not an input error.
    ("long decimal in YAML", _y("pain: " + "9" * 5000), "pain: must be between 0 and 10 (got a number 5000 characters long)"),
    ("long decimal in JSON", _j('"pain": ' + "9" * 5000), "pain: must be between 0 and 10 (got a number 5000 characters long)"),
    # ...and its repr: a 5000-digit hex number parsed, then the message could not print it.
    ("long hex in YAML", _y("pain: 0x" + "f" * 5000), "pain: must be between 0 and 10 (got a number 5002 characters long)"),
    # Base-60 numbers cost quadratic time to build (about a minute for 1 MB).
    ("long base-60 number", _y("pain: 1" + ":59" * 5000), "pain: must be between 0 and 10 (got a number"),
    ("long base-60 float", _y("pain: 1" + ":59" * 500 + ".5"), "pain: must be between 0 and 10 (got a number"),
    # A date that does not exist raised ValueError from the YAML loader.
    ("impossible date", _y("pain: 2023-02-30"), "pain: must be a whole number (got '2023-02-30')"),
    # Explicit tags on values they cannot read raised ValueError, KeyError, AttributeError, IndexError.
    ("!!bool on text", _y("floor_ok: !!bool perhaps"), "cannot read 'perhaps' as bool"),
    ("!!timestamp on text", _y("pain: !!timestamp soon"), "cannot read 'soon' as timestamp"),
    ("!!int on nothing", _y("pain: !!int ''"), "cannot read '' as int"),
    ("!!float on text", _y("pain: !!float x"), "cannot read 'x' as float"),
    # An unknown key was printed raw: control characters reached the terminal.
    ("escape in a key", _y('"\\e[2Jpain": 3'), "'\\x1b[2Jpain': is not a known field"),
    ("NUL in a key", _y('"\\0": 3'), "'\\x00': is not a known field"),
    ("long key", _j('"' + "k" * 5000 + '": 3'), "'" + "k" * 36 + "...: is not a known field"),
    # A lone surrogate could not be printed at all, or came out in pydantic's words.
    ("lone surrogate in YAML", _y('name: "\\ud800"'), "not valid YAML"),
    ("lone surrogate in JSON", _j('"name": "\\ud800"'), "holds half of a surrogate pair"),
    ("lone surrogate key in JSON", _j('"\\udfff": 1'), "holds half of a surrogate pair"),
    # true and 1.0 passed as version 1. (In JSON, 1.0 is the number 1, as JSON Schema reads it;
    # a YAML 1.0 is a decimal.)
    ("version true", _y("version: true"), "version: must be one of 1 (got True)"),
    ("version 1.0", _y("version: 1.0"), "version: must be one of 1 (got 1.0)"),
    ("version 1.5", _j('"version": 1.5'), "version: must be one of 1 (got 1.5)"),
]


@pytest.mark.parametrize("case,text,words", REGRESSIONS, ids=[r[0].replace(" ", "_") for r in REGRESSIONS])
def test_regressions_found_by_fuzzing(runner, tmp_path, warm, case, text, words):
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    refuse(runner, tmp_path, path, words)


def test_many_problems_are_counted_not_all_listed():
    data = {**BASE, "red_flags": ["nope"] * 500}
    with pytest.raises(AnswersError) as e:
        parse_answers(data, "a.yaml")
    lines = str(e.value).splitlines()
    assert len(lines) == 21 and lines[-1] == "a.yaml: and 480 more problems like these"
    assert len(e.value.problems) == 20


def test_a_byte_order_mark_is_accepted():
    assert parse_answers(parse_text("\ufeff" + GOOD, "a.yaml"), "a.yaml").areas == ["neck"]
    assert parse_answers(parse_text("\ufeff" + json.dumps(BASE), "a.json"), "a.json").pain == 4


@pytest.mark.parametrize(
    "content,words",
    [
        (b"\x00\x01binary", "binary data"),
        (LAUGHS.encode(), "aliases"),
        (b'{"\\u001b[2Jpain": 3}', "'\\x1b[2Jpain': is not a known field"),
    ],
    ids=["binary", "billion-laughs", "escape-in-key"],
)
def test_a_real_process_prints_no_traceback(tmp_path, content, words):
    """The same through a real interpreter: exit status, stderr, nothing written."""
    path = tmp_path / "answers.yaml"
    path.write_bytes(content)
    out = tmp_path / "routine.txt"
    out.write_bytes(b"old\n")
    import recommender

    env = {**os.environ, "PYTHONPATH": str(Path(recommender.__file__).parent.parent)}  # the code under test
    done = subprocess.run(
        [sys.executable, "-m", "recommender", "recommend", str(path), "-o", str(out)],
        capture_output=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    err = done.stderr.decode("utf-8")
    assert done.returncode == 2, err
    assert f"{path}: " in err and words in err and "Traceback" not in err and "\x1b" not in err
    assert out.read_bytes() == b"old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "routine.txt"]


# --------------------------------------------------------------------------- the fuzz target, briefly

FUZZ = Path(__file__).resolve().parent / "fuzz"


def _fuzz_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("fuzz_answers", FUZZ / "fuzz_answers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fuzz_corpus_replays_clean():
    """Every input the fuzzer kept: only clear input errors, or a routine rendered in every format."""
    fuzz = _fuzz_module()
    inputs = fuzz.corpus_inputs()
    assert len(inputs) > 100
    for data in inputs:
        fuzz.one_input(data)


def test_plain_fuzzing_without_atheris_finds_nothing():
    """The seeded random mutator (no coverage guidance): the same 300 inputs on every run."""
    assert _fuzz_module().plain_fuzz(seconds=120, seed=10, runs=300) == 300


def test_atheris_fuzzes_briefly(tmp_path):
    """Coverage-guided, 600 executions from the corpus with a fixed seed (about 3 s), when atheris is installed."""
    pytest.importorskip("atheris")
    import recommender

    (tmp_path / "new").mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(recommender.__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, str(FUZZ / "fuzz_answers.py"), str(tmp_path / "new"), str(FUZZ / "corpus"),
         f"-dict={FUZZ / 'answers.dict'}", "-runs=600", "-seed=1", "-timeout=10",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
        env=env,
    )
    log = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("INFO: Instrumenting"))
    assert done.returncode == 0, log[-3000:]
    assert "Done 600 runs" in log, log[-3000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
