"""The published schemas say exactly what the server accepts (issue 19, item 6).

The answers' JSON Schema (``stretchwise schema``, and the API's request body)
and the server agree on three points schemathesis found: a list never holds an
item twice (``uniqueItems``); an integer may be written ``9.0`` (JSON and JSON
Schema do not tell it from ``9``, so the reader does not either); a name has no
control or format character (``pattern``). Then schemathesis runs against a
live ``stretchwise serve``, with all its checks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.answers import LIST_FIELDS, answers_schema, field_kind
from recommender.errors import AnswersError
from recommender.reader import read_answers

BASE = {"areas": ["low_back", "neck"], "pain": 4, "duration_weeks": 3, "red_flags": [], "minutes": 10}
INTEGERS = sorted(name for name in answers_schema()["properties"] if name != "version" and field_kind(name) == "int")


def test_every_list_field_promises_unique_items_and_the_server_keeps_the_promise(kb):
    jsonschema = pytest.importorskip("jsonschema")
    schema = answers_schema()
    arrays = {name for name, spec in schema["properties"].items() if spec.get("type") == "array"}
    assert arrays == set(LIST_FIELDS)
    for name in sorted(arrays):
        assert schema["properties"][name]["uniqueItems"] is True, name
        twice = {**BASE, name: ["neck", "neck"] if name == "areas" else [schema["properties"][name]["items"]["enum"][0]] * 2}
        assert not jsonschema.Draft202012Validator(schema).is_valid(twice)
        with pytest.raises(AnswersError, match=f"{name}: lists .* twice"):
            read_answers(json.dumps(twice), "a.json", kb, json_only=True)


def _written(n: int, how: int) -> str:
    """The integer ``n`` as JSON writes it in one of several ways."""
    return [str(n), f"{n}.0", f"{n}e0", f"{n}.000", f"{n * 10}e-1", f"{n}.0E+0"][how]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(INTEGERS), value=st.integers(-5, 70), how=st.integers(0, 5))
def test_an_integer_written_with_a_point_is_that_integer(kb, field, value, how):
    plain = json.dumps({**BASE, field: value})
    pointed = plain.replace(f'"{field}": {value}', f'"{field}": {_written(value, how)}')

    def outcome(text: str) -> object:
        try:
            return read_answers(text, "a.json", kb, json_only=True)
        except AnswersError as e:
            return str(e)

    assert outcome(pointed) == outcome(plain)


@pytest.mark.parametrize("written", ["4.5", "4.000001", "1e-3", "45e-1"])
def test_a_number_with_a_fraction_is_not_an_integer(kb, written):
    with pytest.raises(AnswersError, match="pain: must be"):
        read_answers(json.dumps(BASE).replace('"pain": 4', f'"pain": {written}'), "a.json", kb, json_only=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(exclude_categories=["Cs"]), max_size=12))
def test_the_name_pattern_says_what_the_server_refuses(kb, name):
    pattern = re.compile(answers_schema()["properties"]["name"]["pattern"])
    try:
        read_answers(json.dumps({**BASE, "name": name}), "a.json", kb, json_only=True)
        accepted = True
    except AnswersError as e:
        assert "name: must not contain control characters" in str(e)
        accepted = False
    assert accepted == bool(pattern.fullmatch(name))


@pytest.fixture(scope="module")
def client(kb):
    testclient = pytest.importorskip("fastapi.testclient")
    from recommender.web import create_app

    with testclient.TestClient(create_app(kb)) as c:
        yield c


def test_the_api_describes_the_fhir_body_with_an_example_it_accepts(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/recommend"]["post"]["requestBody"]["content"]
    fhir = body["application/fhir+json"]
    assert fhir["schema"]["properties"]["resourceType"] == {"const": "QuestionnaireResponse"}
    r = client.post("/api/recommend", json=fhir["example"], headers={"content-type": "application/fhir+json"})
    assert r.status_code == 200
    r_json = client.post("/api/recommend", json=body["application/json"]["example"])
    assert r.json() == r_json.json()  # the same person, either way


# --------------------------------------------------------------------------- schemathesis


@pytest.fixture(scope="module")
def served():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "recommender", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < end and proc.poll() is None, "serve did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _schemathesis(cwd: Path, location: str, *extra: str) -> subprocess.CompletedProcess:
    st_cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if st_cli is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [st_cli, "run", location, "--checks", "all", "--max-examples", "150", "--seed", "19", "--workers", "1",
         "--no-color", *extra],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd,  # it keeps a .schemathesis folder there
    )


def test_schemathesis_finds_nothing_with_every_check(served, tmp_path):
    """Every check, on the answers body: the schema admits nothing the server refuses and
    refuses nothing it admits."""
    spec = json.loads(urllib.request.urlopen(served + "/openapi.json", timeout=10).read())
    del spec["paths"]["/api/recommend"]["post"]["requestBody"]["content"]["application/fhir+json"]
    answers_only = tmp_path / "openapi.json"
    answers_only.write_text(json.dumps(spec))
    done = _schemathesis(tmp_path, str(answers_only), "--url", served)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_schemathesis_on_the_fhir_body_finds_no_server_error_or_bad_reply(served, tmp_path):
    """The FHIR body's schema is an outline (the skip logic is the questionnaire's), so
    schema-valid responses may be refused; every other check holds."""
    done = _schemathesis(tmp_path, served + "/openapi.json", "--exclude-checks", "positive_data_acceptance")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
