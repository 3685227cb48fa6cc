#!/usr/bin/env python3
"""Coverage-guided fuzzing of the answers loader and the whole in-process recommend path.

Each input is the bytes of an answers file. They go through exactly what
``stretchwise recommend -`` does with its standard input: ``read_text`` (size,
UTF-8, binary), ``parse_text`` (JSON or safe YAML) and ``parse_answers`` (the
strict model). Valid answers then go through the engine, the routine and the
text, JSON and HTML renderers.

The only exception allowed out is ``AnswersError``, and its message must be a
clear one: every line names the input (``<stdin>: ``), the text is printable
(no control characters but newlines, no lone surrogates) and short enough to
read. Anything else (another exception, a bad message, a routine despite a red
flag, JSON that does not parse) is a crash for the fuzzer to report.

Run it with atheris (libFuzzer)::

    python tests/fuzz/fuzz_answers.py NEW_CORPUS_DIR tests/fuzz/corpus \\
        -dict=tests/fuzz/answers.dict -max_total_time=600 -timeout=5

New interesting inputs go to the first folder; give a scratch folder there to
leave the checked-in corpus as it is. To fold them into the corpus, minimized
(libFuzzer starts this file again as a program, so the venv must come first
on PATH)::

    PATH=.venv/bin:$PATH tests/fuzz/fuzz_answers.py -merge=1 MERGED_DIR tests/fuzz/corpus NEW_CORPUS_DIR

Without atheris, ``--plain SECONDS`` runs a seeded random mutation fuzzer over
the same target (no coverage guidance), and ``--corpus`` just replays the
corpus. ``answers.dict`` holds the field names, choices and YAML and JSON
syntax that mutations splice in.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import random
import sys
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
DICTIONARY = HERE / "answers.dict"
sys.path.insert(0, str(HERE.parent.parent))  # the source tree, when run as a script

try:  # atheris is optional: without it the plain fuzzer below still runs the target
    import atheris
except ImportError:  # pragma: no cover - depends on the environment
    atheris = None

if atheris is not None and __name__ == "__main__":
    with atheris.instrument_imports(include=["recommender", "yaml"]):
        import yaml

        import recommender.answers as answers_mod
        import recommender.reader as reader_mod
        render_mod = importlib.import_module("recommender.render")
        import recommender.pipeline as pipeline_mod
else:
    import yaml

    import recommender.answers as answers_mod
    import recommender.reader as reader_mod
    render_mod = importlib.import_module("recommender.render")
    import recommender.pipeline as pipeline_mod

from recommender.errors import AnswersError
from recommender.knowledge import load_knowledge

TODAY = date(2024, 1, 1)
#: The longest error message we accept as "clear": one line per problem, each short.
MAX_MESSAGE = 20_000

_kb = None


def kb() -> Any:
    global _kb
    if _kb is None:
        _kb = load_knowledge()
    return _kb


class _Stdin:
    """Stands in for ``sys.stdin``: ``read_text('-')`` reads ``sys.stdin.buffer``."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def check_message(message: str) -> None:
    """An input error must be clear: named, printable, of a readable size."""
    assert message, "empty error message"
    assert len(message) <= MAX_MESSAGE, f"error message of {len(message)} characters"
    message.encode("utf-8")  # a lone surrogate cannot be printed: raises
    for line in message.split("\n"):
        assert line.startswith("<stdin>: "), f"a line does not name the input: {line[:80]!r}"
        bad = [ch for ch in line if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")]
        assert not bad, f"unprintable characters {bad[:3]!r} in {line[:80]!r}"


def one_input(data: bytes) -> None:
    """The fuzz target: one answers file's bytes through load, engine and render."""
    saved = sys.stdin
    sys.stdin = _Stdin(data)  # type: ignore[assignment]
    try:
        person = reader_mod.load_answers("-", kb())
    except AnswersError as e:
        check_message(str(e))
        return
    finally:
        sys.stdin = saved
    rec = pipeline_mod.recommend(kb(), person)
    if person.red_flags:
        assert rec.routine is None, "a red flag yielded a routine"
    for fmt in ("text", "json", "html"):
        out = render_mod.render(rec, fmt, today=TODAY)
        assert isinstance(out, str) and out
        if fmt == "json":
            assert json.loads(out)["referral"]["level"] == rec.referral.level


# --------------------------------------------------------------------------- mutations

#: Values that reach the corners: every choice, the range ends, wrong types, big and odd values.
def _interesting_values(field: str | None) -> list[Any]:
    values: list[Any] = [None, True, False, 0, -1, 1, 4, 5, 10, 11, 12, 24, 25, 60, 61, 110, 111, 5200, 5201,
                         2**63, -(2**63), 1.5, float("inf"), "", "x" * 81, "a\u0007b", "\u202e", "\ud7ff", [],
                         {}, [[]], {"a": 1}, "5", "true", "none"]
    if field is not None and field in answers_mod.Answers.model_fields:
        choices = list(answers_mod.field_choices(field))
        values += choices
        if field in answers_mod.LIST_FIELDS and choices:
            values += [choices, choices[:1] * 2, [choices[-1]], ["unknown"], [None], [1]]
    return values


def _structured(data: bytes, rng: random.Random) -> bytes | None:
    """Change one answer of a parsable input (structure-aware); None if it does not parse."""
    try:
        text = data.decode("utf-8")
        obj = json.loads(text) if text.lstrip().startswith(("{", "[")) else yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - any unparsable input: leave it to byte mutations
        return None
    if not isinstance(obj, dict):
        return None
    fields = list(answers_mod.Answers.model_fields)
    op = rng.random()
    key = rng.choice(fields + list(obj))
    if op < 0.6:
        obj[key] = rng.choice(_interesting_values(str(key)))
    elif op < 0.75:
        obj.pop(key, None)
    elif op < 0.85 and key in answers_mod.LIST_FIELDS:
        choices = list(answers_mod.field_choices(str(key)))
        obj[key] = rng.sample(choices, rng.randint(0, len(choices)))
    else:
        obj[rng.choice(["extra", "Pain", "pain ", "\u0000", "red-flags", "areas\u200b"])] = rng.choice(
            _interesting_values(None)
        )
    try:
        if rng.random() < 0.5:
            return json.dumps(obj, allow_nan=True).encode("utf-8", "surrogatepass")
        return yaml.safe_dump(obj, allow_unicode=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    except Exception:  # noqa: BLE001 - a value yaml cannot write: skip this mutation
        return None


def _tokens() -> list[bytes]:
    out = []
    for line in DICTIONARY.read_text().splitlines():
        if line.startswith('"') and line.endswith('"'):
            out.append(line[1:-1].encode().decode("unicode_escape").encode("latin-1"))
    return out


def _byte_mutation(data: bytes, rng: random.Random, tokens: list[bytes], corpus: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(b))
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[pos:pos] = rng.choice(tokens)
        elif op == 2 and b:
            del b[pos : pos + rng.randint(1, 8)]
        elif op == 3:
            other = rng.choice(corpus)
            start = rng.randint(0, len(other))
            b[pos:pos] = other[start : start + rng.randint(1, 64)]
        elif op == 4 and b:
            chunk = b[pos : pos + rng.randint(1, 16)]
            b[pos:pos] = chunk * rng.randint(1, 50)
        else:
            b[pos:pos] = bytes([rng.choice(b"{}[]:,-'\"&*!#\n \t|>")])
    return bytes(b)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """atheris: half the time change one answer structurally, else libFuzzer's own mutation."""
    rng = random.Random(seed)
    if rng.random() < 0.5:
        out = _structured(data, rng)
        if out is not None and len(out) <= max_size:
            return out
    return atheris.Mutate(data, max_size)


def corpus_inputs() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.is_file()]


def plain_fuzz(seconds: float, seed: int = 0, runs: int | None = None) -> int:
    """Seeded random mutation fuzzing without coverage guidance; returns the executions."""
    import time

    rng = random.Random(seed)
    corpus = corpus_inputs()
    tokens = _tokens()
    for data in corpus:
        one_input(data)
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline and (runs is None or done < runs):
        parent = rng.choice(corpus)
        child = _structured(parent, rng) if rng.random() < 0.5 else None
        if child is None:
            child = _byte_mutation(parent, rng, tokens, corpus)
        try:
            one_input(child)
        except BaseException:
            sys.stderr.write(f"crash on input {child!r}\n")
            raise
        if rng.random() < 0.05 and len(corpus) < 2000:
            corpus.append(child)  # grow a little, blindly
        done += 1
    return done


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--corpus":
        for data in corpus_inputs():
            one_input(data)
        print(f"corpus: {len(corpus_inputs())} inputs ok")
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "--plain":
        seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
        seed = int(os.environ.get("FUZZ_SEED", "0"))
        n = plain_fuzz(seconds, seed)
        print(f"plain fuzzing: {n} executions in {seconds:g} s, seed {seed}, no crash")
        return
    if atheris is None:
        sys.exit("atheris is not installed: use --plain SECONDS or --corpus")
    kb()  # load once, before fuzzing starts
    atheris.Setup(sys.argv, one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
