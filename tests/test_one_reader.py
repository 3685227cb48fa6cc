"""One reader, one pipeline, five faces: the same answers give the same
recommendation through every face, a repeated key is refused by every face,
and a red flag never yields a routine on any of them.

The faces: the CLI (``stretchwise recommend FILE -f json``), the JSON API
(``POST /api/recommend``), a batch line (``score_line``), a FHIR
QuestionnaireResponse fed back to the CLI, and the web form (``POST /routine``);
and the follow-up's faces: ``stretchwise follow-up``, the web check-in (the file brought
back, and the earlier answers its page carries) and ``questionnaire --follow-up``.
Messages are asserted on our own words (recommender/reading.py, reader.py),
never a library's.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import answers_dicts
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st

from recommender.answers import Answers, field_choices, parse_answers
from recommender.batch import score_line
from recommender.cli import cli
from recommender.errors import AnswersError
from recommender.fhir import to_response
from recommender.reader import read_answers
from recommender.web import create_app
from recommender.web.form import raw_from_answers

fastapi_testclient = pytest.importorskip("fastapi.testclient")

#: Levels at which there is no routine: a doctor must see the person first.
STOP_LEVELS = ("doctor_first", "urgent")


@pytest.fixture(scope="module")
def client(kb):
    with fastapi_testclient.TestClient(create_app(kb)) as c:
        yield c


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("one-reader")


# --------------------------------------------------------------------------- the faces


def via_cli(folder: Path, text: str, name: str = "answers.json") -> tuple[int, str]:
    """``stretchwise recommend FILE -f json``: exit code and output (stdout and stderr)."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["recommend", str(path), "-f", "json"])
    return result.exit_code, result.output


def cli_json(folder: Path, text: str, name: str = "answers.json") -> dict[str, Any]:
    code, out = via_cli(folder, text, name)
    assert code == 0, out
    return json.loads(out)


def api_json(client: Any, text: str) -> dict[str, Any]:
    r = client.post("/api/recommend", content=text.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


def batch_json(kb: Any, text: str) -> dict[str, Any]:
    scored = score_line(kb, 1, text.encode() + b"\n")
    assert scored.error is None, scored.text
    return json.loads(scored.text)


def fhir_text(kb: Any, answers: Answers) -> str | None:
    """The answers as a QuestionnaireResponse (JSON text), or None when a response cannot
    hold them (a non-default value for a question the form would not ask)."""
    try:
        return json.dumps(to_response(answers, kb), ensure_ascii=False)
    except AnswersError as e:
        assert "so a QuestionnaireResponse cannot hold" in str(e)
        return None


def form_page(client: Any, kb: Any, data: dict[str, Any]) -> str:
    r = client.post("/routine", data=raw_from_answers(kb.questions, data))
    assert r.status_code == 200, r.text[:2000]
    return r.text


def page_level(page: str) -> str:
    found = re.search(r'<body class="routine-page level-([a-z_]+)"', page)
    assert found, "no referral level on the routine page"
    return found.group(1)


def page_exercises(page: str) -> list[str]:
    """The ids of the stretches the routine page explains, in order."""
    return re.findall(r'<section class="why-one" id="why-([a-z0-9_]+)"', page)


def page_answers(page: str, kb: Any) -> Answers:
    """The answers the routine page carries in its buttons, read back through the one reader."""
    values = set(re.findall(r'<input type="hidden" name="answers" value="([^"]*)">', page))
    assert len(values) == 1, "the page carries one set of answers"
    return read_answers(html.unescape(values.pop()), "carried", kb, json_only=True)


def as_sets(answers: Answers) -> dict[str, Any]:
    """The answers with lists as sorted lists (the form lists choices in the order it shows them)."""
    return {k: sorted(v) if isinstance(v, list) else v for k, v in answers.model_dump(mode="json").items()}


def exercise_ids(rec: dict[str, Any]) -> list[str]:
    return [ex["id"] for ex in rec["routine"]["exercises"]] if rec["routine"] else []


def every_face(kb: Any, client: Any, folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The recommendation JSON through the CLI, the API, a batch line and (when the answers
    can be one) a FHIR response fed to the CLI; and the routine page from the web form."""
    text = json.dumps(data, ensure_ascii=False)
    answers = parse_answers(data, "generated")
    out: dict[str, Any] = {
        "cli": cli_json(folder, text),
        "api": api_json(client, text),
        "batch": batch_json(kb, text),
    }
    response = fhir_text(kb, answers)
    if response is not None:
        out["fhir"] = cli_json(folder, response, "response.json")
    out["page"] = form_page(client, kb, data)
    return out


# --------------------------------------------------------------------------- 1. the same everywhere


def in_questionnaire_order(kb: Any, answers: Answers) -> Answers:
    """The answers with the red flags in the order the questionnaire asks them (as a
    QuestionnaireResponse carries them back: one yes/no item each)."""
    order = [c.value for q in kb.questions if q.ask_each for c in q.choices]
    flags = sorted(answers.red_flags, key=order.index)
    return answers.model_copy(update={"red_flags": flags})


@settings(max_examples=100)
@given(data=answers_dicts)
def test_the_same_answers_give_the_same_recommendation_on_every_face(kb, client, workdir, data):
    answers = parse_answers(data, "generated")
    assume(fhir_text(kb, answers) is not None)  # to_response refuses a value the form would not ask for
    faces = every_face(kb, client, workdir, data)
    cli_rec = faces["cli"]
    assert faces["api"] == cli_rec, "POST /api/recommend differs from the CLI"
    assert faces["batch"] == cli_rec, "a batch line differs from the CLI"
    if in_questionnaire_order(kb, answers) == answers:
        assert faces["fhir"] == cli_rec, "the FHIR round trip differs from the CLI"
    else:
        # A known bug (the xfail test below): the response gives the red flags back in
        # questionnaire order. Short of that order,
        # the FHIR face still gives exactly the CLI's recommendation.
        reordered = json.dumps(in_questionnaire_order(kb, answers).model_dump(mode="json"))
        assert faces["fhir"] == cli_json(workdir, reordered)

    # (e) the web form: the page shows the recommendation of the answers it carries,
    # and those are the answers sent, save what the skip logic leaves out.
    page = faces["page"]
    carried = page_answers(page, kb)
    level = page_level(page)
    again = cli_json(workdir, json.dumps(carried.model_dump(mode="json")))
    assert level == again["referral"]["level"]
    assert page_exercises(page) == exercise_ids(again)
    assert set(carried.red_flags) == set(answers.red_flags), "the form must never drop or add a red flag"
    note(f"carried: {carried.model_dump(mode='json')}")
    if as_sets(carried) == as_sets(answers):
        event("the form carried the same answers")
        assert level == cli_rec["referral"]["level"]
        assert page_exercises(page) == exercise_ids(cli_rec)


def test_fhir_round_trip_keeps_the_recommendation_when_red_flags_are_in_another_order(kb, workdir):
    # A list answer is kept in the format's own order when read, whatever order a face wrote it in.
    flags = ["bladder_bowel_change", "saddle_numbness"]  # the questionnaire asks saddle numbness first
    data = {"areas": ["neck"], "pain": 0, "duration_weeks": 0, "red_flags": flags}
    response = fhir_text(kb, parse_answers(data, "generated"))
    assert response is not None
    assert cli_json(workdir, response, "response.json") == cli_json(workdir, json.dumps(data))


# ---------------------------------------------------------------- 2. a repeated key, refused everywhere

#: A red flag, then "no red flags": a parser that keeps the last one would drop the red flag.
DUP_JSON = (
    '{"areas": ["low_back"], "pain": 4, "duration_weeks": 3,'
    ' "red_flags": ["saddle_numbness"], "red_flags": []}'
)
DUP_YAML = "areas: [low_back]\npain: 4\nduration_weeks: 3\nred_flags: [saddle_numbness]\nred_flags: []\n"
RED = {"areas": ["low_back"], "pain": 4, "duration_weeks": 3, "red_flags": ["saddle_numbness"]}


def _response(kb: Any) -> str:
    text = fhir_text(kb, parse_answers(RED, "red"))
    assert text is not None
    return text


def dup_status(kb: Any) -> str:
    """A QuestionnaireResponse with "status" given twice."""
    text = _response(kb)
    assert text.count('"status": "completed"') == 1
    return text.replace('"status": "completed"', '"status": "completed", "status": "in-progress"')


def dup_answer(kb: Any) -> str:
    """A QuestionnaireResponse whose saddle numbness item gives "answer" twice: yes, then no."""
    text = _response(kb)
    yes = '"answer": [{"valueBoolean": true}]'
    assert text.count(yes) == 1
    return text.replace(yes, yes + ', "answer": [{"valueBoolean": false}]')


#: Each input: the key it repeats, and how to make it. Each is refused by every face that reads its kind.
INPUTS = {
    "json": ("red_flags", lambda kb: DUP_JSON),
    "yaml": ("red_flags", lambda kb: DUP_YAML),
    "fhir-status": ("status", dup_status),
    "fhir-answer": ("answer", dup_answer),
}
JSON_INPUTS = ["json", "fhir-status", "fhir-answer"]


def said_twice(message: str, key: str) -> bool:
    """Our message for a repeated key (recommender/reading.py): ``label: key: is given twice``."""
    return f"{key}: is given twice" in message


@pytest.mark.parametrize("command", ["recommend", "explain"])
@pytest.mark.parametrize("kind", list(INPUTS))
def test_a_repeated_key_is_refused_by_the_cli(kb, workdir, kind, command):
    key, make = INPUTS[kind]
    path = workdir / f"dup-{kind}.{'yaml' if kind == 'yaml' else 'json'}"
    path.write_text(make(kb), encoding="utf-8")
    result = CliRunner().invoke(cli, [command, str(path), "-f", "json"])
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr and "given twice" in result.stderr and key in result.stderr
    assert said_twice(result.stderr, key)
    assert result.stdout == ""  # no recommendation, not even part of one


@pytest.mark.parametrize("kind", JSON_INPUTS)
def test_a_repeated_key_is_refused_by_batch(kb, workdir, kind):
    key, make = INPUTS[kind]
    good = json.dumps({**RED, "red_flags": []})
    path = workdir / f"dup-{kind}.jsonl"
    path.write_text(good + "\n" + make(kb) + "\n" + good + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["batch", str(path), "--workers", "1"])
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3 and "error" not in lines[0] and "error" not in lines[2]  # still aligned
    assert lines[1]["line"] == 2 and set(lines[1]) == {"line", "error"}
    error = lines[1]["error"]
    assert said_twice(error["message"], key) and error["message"].startswith("line 2: ")
    assert any(key in p["field"] + p["message"] and "given twice" in p["message"] for p in error["problems"])
    assert f"{path}:2: " in result.stderr and said_twice(result.stderr, key)
    # and one line alone, through the library call
    scored = score_line(kb, 7, make(kb).encode())
    assert scored.error is not None and said_twice(scored.error, key)
    assert json.loads(scored.text)["line"] == 7 and "routine" not in json.loads(scored.text)


@pytest.mark.parametrize("kind", JSON_INPUTS)
def test_a_repeated_key_is_refused_by_the_api(kb, client, kind):
    key, make = INPUTS[kind]
    r = client.post("/api/recommend", content=make(kb).encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["ok"] is False
    assert any(key in e["field"] + e["message"] and "given twice" in e["message"] for e in body["errors"])


@pytest.mark.parametrize("route", ["/edit", "/answers.yaml", "/routine.pdf"])
@pytest.mark.parametrize("kind", JSON_INPUTS)
def test_a_repeated_key_is_refused_in_the_answers_a_page_carries(kb, client, kind, route):
    key, make = INPUTS[kind]
    r = client.post(route, data={"answers": make(kb)})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert said_twice(html.unescape(r.text), key)


@pytest.mark.parametrize("kind", list(INPUTS))
def test_a_repeated_key_is_refused_in_an_uploaded_file(kb, client, kind):
    key, make = INPUTS[kind]
    name = f"answers.{'yaml' if kind == 'yaml' else 'json'}"
    r = client.post("/load", files={"file": (name, make(kb).encode(), "application/octet-stream")})
    assert r.status_code == 422
    assert said_twice(html.unescape(r.text), key)


def test_a_safety_answer_sent_twice_by_the_form_counts_as_yes(kb, client):
    """The form's repeated key: one safety question sent twice, yes then no. Never resolved
    by order toward "no", and never held up (issue 17): the doubt goes toward the advice."""
    raw = raw_from_answers(kb.questions, {**RED, "red_flags": []})
    raw["red_flags:saddle_numbness"] = ["yes", "no"]
    r = client.post("/routine", data=raw)
    assert r.status_code == 200
    assert "<h1>Get medical help today</h1>" in r.text
    assert 'class="card"' not in r.text  # no routine


# ---------------------------------------------------------- 3. a red flag stops the routine everywhere

#: Valid answers with at least one red flag.
red_flag_answers = st.builds(
    lambda d, flag: {**d, "red_flags": d["red_flags"] or [flag]},
    answers_dicts,
    st.sampled_from(field_choices("red_flags")),
)


@settings(max_examples=60)
@given(data=red_flag_answers)
def test_a_red_flag_never_yields_a_routine_on_any_face(kb, client, workdir, data):
    faces = every_face(kb, client, workdir, data)
    for face in ("cli", "api", "batch", "fhir"):
        if face not in faces:
            # to_response refuses a value for a question the form would not ask: the
            # response is made without those fields (they hold their default in it)
            event("the QuestionnaireResponse leaves out questions the form would not ask")
            answers = parse_answers(data, "generated")
            with pytest.raises(AnswersError) as refused:
                to_response(answers, kb)
            unasked = {p["field"] for p in refused.value.problems}
            kept = parse_answers({k: v for k, v in data.items() if k not in unasked}, "kept")
            response = fhir_text(kb, kept)
            assert response is not None
            faces[face] = cli_json(workdir, response, "response.json")
        rec = faces[face]
        assert rec["routine"] is None, f"{face} gave a routine despite a red flag"
        assert rec["referral"]["level"] in STOP_LEVELS, face
        assert not any(n["reason"] == "time_budget" for n in rec["not_chosen"]), face
    page = faces["page"]
    assert page_level(page) in STOP_LEVELS
    assert page_exercises(page) == []
    assert "Why these stretches" not in page
    assert set(page_answers(page, kb).red_flags) == set(data["red_flags"])


# --------------------------------------------------------------------------- the follow-up's faces (issue 20)

GOOD = json.dumps({"areas": ["neck"], "pain": 4, "duration_weeks": 3, "red_flags": []})


@pytest.mark.parametrize("which", ["earlier", "now"])
@pytest.mark.parametrize("kind", list(INPUTS))
def test_a_repeated_key_is_refused_by_the_follow_up_command(kb, workdir, kind, which):
    key, make = INPUTS[kind]
    bad = workdir / f"dup-fu-{kind}.{'yaml' if kind == 'yaml' else 'json'}"
    bad.write_text(make(kb), encoding="utf-8")
    good = workdir / "good.json"
    good.write_text(GOOD, encoding="utf-8")
    pair = [str(bad), str(good)] if which == "earlier" else [str(good), str(bad)]
    result = CliRunner().invoke(cli, ["follow-up", *pair, "-f", "json"])
    assert result.exit_code == 2, result.output
    assert str(bad) in result.stderr and said_twice(result.stderr, key)
    assert result.stdout == ""


@pytest.mark.parametrize("kind", list(INPUTS))
def test_a_repeated_key_is_refused_in_the_file_brought_to_a_check_in(kb, client, kind):
    key, make = INPUTS[kind]
    name = f"answers.{'yaml' if kind == 'yaml' else 'json'}"
    r = client.post("/check-in", files={"file": (name, make(kb).encode(), "application/octet-stream")})
    assert r.status_code == 422
    assert said_twice(html.unescape(r.text), key)


@pytest.mark.parametrize("kind", JSON_INPUTS)
def test_a_repeated_key_is_refused_in_the_earlier_answers_a_check_in_page_carries(kb, client, kind):
    key, make = INPUTS[kind]
    r = client.post("/follow-up", data={"earlier": make(kb)})
    assert r.status_code == 422
    assert said_twice(html.unescape(r.text), key)


def test_a_repeated_key_is_refused_by_the_questionnaire_follow_up(kb, workdir, monkeypatch):
    path = workdir / "dup-earlier.yaml"
    path.write_text(DUP_YAML, encoding="utf-8")
    result = CliRunner().invoke(cli, ["questionnaire", "--follow-up", str(path)], input="")
    assert result.exit_code == 2, result.output
    assert said_twice(result.stderr, "red_flags") and "Traceback" not in result.output
