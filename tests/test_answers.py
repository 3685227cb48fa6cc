"""The answers format: what is accepted, and how each kind of bad input is reported."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import BASE, EXAMPLES, answers_dicts
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.answers import Answers, answer_items, answers_schema, canonical_json, field_choices, parse_answers
from recommender.recommendation import answers_digest
from conftest import load_answers
from recommender.cli import cli
from recommender.errors import AnswersError

GOOD_YAML = "areas: [neck]\npain: 3\nduration_weeks: 2\nred_flags: []\n"


def test_defaults_fill_the_optional_fields():
    a = parse_answers(dict(BASE), "a.yaml")
    assert a.minutes == 10 and a.floor_ok is True and a.equipment == ["chair", "wall", "doorway", "pillow", "towel"] and a.numbness_or_tingling == "none"


def test_yaml_and_json_by_content(tmp_path):
    y = tmp_path / "a.txt"
    y.write_text(GOOD_YAML)
    j = tmp_path / "b.txt"
    j.write_text(json.dumps({"areas": ["neck"], "pain": 3, "duration_weeks": 2, "red_flags": []}))
    assert load_answers(str(y)) == load_answers(str(j))


ANSWER_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json") and "questionnaire" not in p.name)


@pytest.mark.parametrize("path", ANSWER_FILES, ids=[p.name for p in ANSWER_FILES])
def test_bundled_examples_are_valid(path):
    assert isinstance(load_answers(str(path)), Answers)


# Each row: the file's text, then the words the message must contain (file name added by the test).
BAD_CONTENT = [
    ("missing required field", "areas: [neck]\npain: 3\nduration_weeks: 2\n", "red_flags: is required"),
    ("empty red flags not written", "areas: [neck]\npain: 3\nred_flags:\nduration_weeks: 2\n", "red_flags: must be a list"),
    ("wrong type", GOOD_YAML.replace("pain: 3", "pain: three"), "pain: must be a whole number (got 'three')"),
    ("number as text", GOOD_YAML.replace("pain: 3", "pain: '3'"), "pain: must be a whole number (got '3')"),
    ("out of range", GOOD_YAML.replace("pain: 3", "pain: 11"), "pain: must be between 0 and 10 (got 11)"),
    ("minutes too short", GOOD_YAML + "minutes: 2\n", "minutes: must be between 5 and 60 (got 2)"),
    ("unknown key", GOOD_YAML + "favourite_colour: blue\n", "favourite_colour: is not a known field"),
    ("unknown enum value", GOOD_YAML.replace("[neck]", "[knee]"), "areas[0]: must be one of"),
    ("unknown red flag", GOOD_YAML.replace("red_flags: []", "red_flags: [headache]"), "red_flags[0]: must be one of"),
    ("duplicate item", GOOD_YAML.replace("[neck]", "[neck, neck]"), "areas: lists 'neck' twice"),
    ("no area", GOOD_YAML.replace("[neck]", "[]"), "areas: must list at least one item"),
    ("bool as text", GOOD_YAML + "floor_ok: 'yes'\n", "floor_ok: must be true or false"),
    ("name too long", GOOD_YAML + "name: " + "x" * 81 + "\n", "name: must be at most 80 characters"),
    ("control character", GOOD_YAML + 'name: "a\\u0007b"\n', "name: must not contain control characters"),
    ("wrong version", GOOD_YAML + "version: 2\n", "version: must be one of 1"),
    ("empty file", "", "empty file"),
    ("only a comment", "# nothing\n", "empty file"),
    ("not YAML", "areas: [neck\npain: 3\n", "not valid YAML"),
    ("not JSON", '{"areas": ["neck"],', "not valid JSON"),
    ("list at top level", "- neck\n- low_back\n", "expected a mapping of answers at the top level, found a list"),
    ("scalar at top level", "hello\n", "expected a mapping of answers at the top level, found a str"),
    ("YAML alias", "a: &x [neck]\nareas: *x\npain: 3\nduration_weeks: 2\nred_flags: []\n", "aliases"),
    ("python tag", "areas: !!python/object/apply:os.system [echo hi]\n", "not valid YAML"),
]


@pytest.mark.parametrize("case,text,expected", BAD_CONTENT, ids=[c[0] for c in BAD_CONTENT])
def test_bad_answers_exit_2_naming_file_and_field(runner, tmp_path, case, text, expected):
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    result = runner.invoke(cli, ["recommend", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: " in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert result.stdout == ""


def test_binary_and_not_utf8(runner, tmp_path):
    for name, data, words in [("bin.yaml", b"areas\x00\x01", "binary"), ("latin.yaml", b"name: Jos\xe9\n", "not UTF-8")]:
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(cli, ["recommend", str(path)])
        assert result.exit_code == 2 and words in result.stderr and str(path) in result.stderr


def test_directory_and_missing_file(runner, tmp_path):
    result = runner.invoke(cli, ["recommend", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr
    result = runner.invoke(cli, ["recommend", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and f"{tmp_path / 'nope.yaml'}: no such file" in result.stderr


def test_oversized_file_is_refused_quickly(runner, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(GOOD_YAML + "#" * 2_000_000)
    result = runner.invoke(cli, ["recommend", str(path)])
    assert result.exit_code == 2 and "larger than" in result.stderr


def test_deeply_nested_json_is_an_input_error():
    with pytest.raises(AnswersError, match="nested too deeply|pain"):
        from recommender.reading import load as parse_text

        parse_answers(parse_text("[" * 10_000 + "]" * 10_000, "deep.json"), "deep.json")


def test_every_error_is_listed_not_only_the_first():
    with pytest.raises(AnswersError) as e:
        parse_answers({"areas": ["knee"], "pain": 99, "duration_weeks": 1}, "a.yaml")
    lines = str(e.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("a.yaml: ") for line in lines)


def test_schema_accepts_the_examples_and_rejects_bad_answers():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = answers_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in EXAMPLES.glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**BASE, "pain": 11}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in BASE.items() if k != "red_flags"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**BASE, "colour": "blue"}, schema)


# answer_items and canonical_json read the fields directly instead of through model_dump
# (issue 22): the digest, and the facts the engine sees, must not move by a byte.
@settings(max_examples=200, deadline=None)
@given(
    data=answers_dicts,
    check_in=st.fixed_dictionaries({}, optional={"days_done": st.integers(0, 14), "overall_change": st.sampled_from(field_choices("overall_change"))}),
)
def test_plain_values_are_what_model_dump_gives(data, check_in):
    a = parse_answers({**data, **check_in}, "a")
    dumped = a.model_dump(mode="json", exclude={"name", "version"})
    items = answer_items(a)
    assert items == dumped and list(items) == list(dumped)
    assert all(items[f] is not getattr(a, f) for f in items if isinstance(items[f], list))  # copies, as a dump's
    unsaid = {f for f in ("days_done", "overall_change") if getattr(a, f) is None}
    assert canonical_json(a) == json.dumps(a.model_dump(mode="json", exclude=unsaid), sort_keys=True, separators=(",", ":"))
    assert answers_digest(a) == hashlib.sha256(canonical_json(a).encode()).hexdigest()[:12]
