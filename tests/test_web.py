"""The web app through Starlette's TestClient: the form and its skip logic, the
routine page, the downloads, the JSON API, and the privacy and security promises.
The same flows in a real browser are in test_web_browser.py."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES

from recommender.answers import parse_answers
from recommender.pipeline import recommend
from recommender.reader import load_answers
from recommender.render import render
from recommender.web import create_app
from recommender.web.form import condition_json, parse_form, raw_from_answers, web_words
from recommender.web.guard import MAX_BODY, style_hash

fastapi_testclient = pytest.importorskip("fastapi.testclient")

DESK = yaml.safe_load((EXAMPLES / "desk-worker.yaml").read_text())
RED = yaml.safe_load((EXAMPLES / "red-flag.yaml").read_text())


@pytest.fixture(scope="module")
def client(kb):
    with fastapi_testclient.TestClient(create_app(kb)) as c:
        yield c


@pytest.fixture(scope="module")
def questions(kb):
    return kb.questions


def form_of(questions, answers: dict) -> dict[str, list[str]]:
    return raw_from_answers(questions, answers)


def error_by(html: str, field_id: str) -> str:
    """The error message shown in a question's block ("" when none)."""
    block = re.search(
        rf'id="{field_id}-q".*?(?=<(?:div|fieldset) class="q|</fieldset>\s*<fieldset class="section|<div class="submit")',
        html,
        re.DOTALL,
    )
    assert block, f"no question {field_id}"
    found = re.search(r'<p class="error"[^>]*><span class="vh">Error: </span>(.*?)</p>', block.group(0))
    return found.group(1) if found else ""


# --------------------------------------------------------------------------- the form page


def test_the_form_asks_every_question_by_its_answers_field(client, questions):
    html = client.get("/").text
    for q in questions:
        if q.ask_each:
            for c in q.choices:
                assert f'name="{q.id}:{c.value}"' in html
        else:
            assert f'name="{q.id}"' in html
    assert html.count('<fieldset class="section"') == len({q.section for q in questions})


def test_the_form_speaks_web_not_terminal(client):
    html = client.get("/").text
    for terminal in ("Press Enter", "press Enter", "y or n", "Type the numbers", "type ?"):
        assert terminal not in html
    assert web_words("Choose all that do, or press Enter for none.") == "Choose all that do."


def test_every_question_has_a_label_or_a_legend(client):
    html = client.get("/").text
    for field_id in re.findall(r'<input type="text" id="([^"]+)"', html):
        assert f'<label class="qtext" for="{field_id}">' in html
    for option_id in re.findall(r'<input type="(?:radio|checkbox)" id="([^"]+)"', html):
        assert f'<label for="{option_id}">' in html
    assert html.count('<fieldset class="q') == html.count('<legend class="qtext">')


def test_no_id_is_used_twice(client, questions):
    for html in (client.get("/").text, client.post("/routine", data=form_of(questions, DESK)).text):
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids))


def test_the_skip_logic_travels_with_each_question(client, questions):
    html = client.get("/").text
    for q in questions:
        if q.ask_when:
            data = json.dumps([condition_json(c) for c in q.ask_when])
            assert f'data-field="{q.id}"' in html and data.replace('"', "&#34;") in html
    # and for those who run no script, in words
    assert "Only applies if you chose “Neck” for “Where does it hurt?”." in html


# --------------------------------------------------------------------------- reading the form


def same(a, b) -> bool:
    """The same answers; lists as sets (the form lists choices in the order it shows them)."""

    def norm(x):
        return {k: sorted(v) if isinstance(v, list) else v for k, v in x.model_dump().items()}

    return norm(a) == norm(b)


def test_a_submitted_form_gives_the_same_answers_as_the_file(questions):
    answers, errors = parse_form(questions, form_of(questions, DESK))
    assert errors == {}
    assert same(answers, parse_answers(DESK, "desk"))


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"pain": ["11"]}, "pain", "Please give a number from 0 to 10."),
        ({"pain": ["five"]}, "pain", "Please type a whole number from 0 to 10."),
        ({"pain": [""]}, "pain", "Please give a number from 0 to 10."),
        ({"duration_weeks": ["-3"]}, "duration_weeks", "Please give a number from 0 to 5200."),
        ({"areas": []}, "areas", "Please choose at least one."),
        ({"red_flags:fever": []}, "red_flags:fever", "Please answer yes or no."),
        ({"red_flags:fever": ["maybe"]}, "red_flags:fever", "Please answer yes or no."),
        ({"stress": ["extreme"]}, "stress", "Please choose one of the answers shown."),
        ({"minutes": ["90"]}, "minutes", "Please give a number from 5 to 60."),
        ({"name": ["x" * 81]}, "name", "It must be at most 80 characters."),
        ({"name": ["Sam\x07"]}, "name", "It must not contain control characters."),
    ],
)
def test_a_bad_answer_is_named_by_its_field(questions, change, key, message):
    raw = {**form_of(questions, DESK), **change}
    answers, errors = parse_form(questions, raw)
    assert answers is None and errors == {key: message}


def test_questions_the_skip_logic_leaves_out_keep_their_default(questions):
    raw = {**form_of(questions, {**DESK, "areas": ["low_back"]}), "stiff_to_turn_head": ["yes"]}
    raw["worse_with"] = ["turning_head", "sitting"]  # turning_head is offered for neck or upper back only
    raw["duration_weeks"], raw["home_care_not_helping"] = ["3"], ["yes"]  # asked from 6 weeks
    raw["floor_ok"], raw["kneeling_hurts"] = ["no"], ["yes"]  # asked when the floor is fine
    answers, errors = parse_form(questions, raw)
    assert errors == {}
    assert answers.stiff_to_turn_head is False and answers.worse_with == ["sitting"]
    assert answers.home_care_not_helping is False and answers.kneeling_hurts is False


def test_after_a_yes_the_rest_of_the_safety_screen_may_stay_blank(questions):
    raw = {k: v for k, v in form_of(questions, DESK).items() if not k.startswith("red_flags:")}
    raw["red_flags:progressive_weakness"] = ["yes"]
    answers, errors = parse_form(questions, raw)
    assert errors == {} and answers.red_flags == ["progressive_weakness"]
    raw.pop("red_flags:progressive_weakness")
    _, errors = parse_form(questions, raw)
    assert len(errors) == len(next(q for q in questions if q.id == "red_flags").choices)


def test_a_safety_screen_that_cannot_be_made_out_is_left_to_answer(questions):
    raw = form_of(questions, {**DESK, "red_flags": ["saddle-numbness"]})  # misspelt: never read as "no"
    assert not any(k.startswith("red_flags:") for k in raw)


# --------------------------------------------------------------------------- the pages


def test_submitting_shows_the_sheet_with_why_and_buttons(client, questions):
    r = client.post("/routine", data=form_of(questions, DESK))
    assert r.status_code == 200
    html = r.text
    assert "<h1>Your stretching routine</h1>" in html and "Hip Flexor Stretch" in html
    why = html.split('id="why-hip_flexor_stretch"', 1)[1].split("</section>", 1)[0]
    assert "Because you said: <strong>you sit about 9 hours a day</strong>" in why
    assert "tight muscles at the front of the hip" in why  # the chain, in <details>
    for button in (
        "data-print",
        'formaction="/routine.pdf"',
        'formaction="/answers.yaml"',
        'formaction="/edit"',
    ):
        assert button in html
    assert "Left out, and why" in html


def test_the_routine_page_allows_the_sheet_style_by_hash_and_nothing_else(client, questions):
    r = client.post("/routine", data=form_of(questions, DESK))
    policy = r.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'")
    styles = re.findall(r"<style>(.*?)</style>", r.text, re.DOTALL)
    assert len(styles) == 1 and f"'{style_hash(styles[0])}'" in policy
    assert "unsafe-inline" not in policy and "http-equiv" not in r.text
    assert "<script>" not in r.text and " style=" not in r.text and " on" + "click=" not in r.text


def test_the_printable_sheet_is_the_same_template(client, questions, kb):
    html = client.post("/routine", data=form_of(questions, DESK)).text
    answers, _ = parse_form(questions, form_of(questions, DESK))
    sheet = str(render(recommend(kb, answers), "html"))
    body = sheet.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    # inside the sheet the page adds only, web-only (not printed), its follow-along player
    # after the header and its phone-sized tracker
    player = re.findall(
        r'<div class="web-only follow-start".*?id="follow-say"[^>]*></p>\n</section>\n', html, re.DOTALL
    )
    phone = re.findall(r'<div class="web-only phone-tracker">.*?</div>\n', html, re.DOTALL)
    assert len(player) == 1 and len(phone) == 1 and "<div" not in phone[0][5:]
    assert body in html.replace(player[0], "").replace(phone[0], "")
    # the sheet's head too, less its meta policy (the page's policy is the header)
    head = sheet.split("<head>", 1)[1].split("</head>", 1)[0]
    kept = [line for line in head.splitlines() if "http-equiv" not in line]
    assert "\n".join(kept) in html and len(kept) == len(head.splitlines()) - 1


def test_a_red_flag_shows_the_referral_alone(client, questions):
    r = client.post("/routine", data=form_of(questions, RED))
    assert r.status_code == 200
    html = r.text
    assert "<h1>Get medical help today</h1>" in html and "What to tell the doctor" in html
    assert 'class="card"' not in html and "Why these stretches" not in html and "Left out" not in html
    assert html.index("Get medical help today") < html.index("Download PDF")  # the advice comes first


def test_a_bad_answer_reshows_the_form_keeping_everything(client, questions):
    raw = {**form_of(questions, DESK), "pain": ["11"], "name": ["<b>Sam & co</b>"]}
    r = client.post("/routine", data=raw)
    assert r.status_code == 422
    html = r.text
    assert error_by(html, "q-pain") == "Please give a number from 0 to 10."
    assert error_by(html, "q-sitting-hours") == ""
    assert 'id="q-pain" name="pain" value="11"' in html
    assert 'value="&lt;b&gt;Sam &amp; co&lt;/b&gt;"' in html and "<b>Sam" not in html
    assert 'name="sitting_hours" value="9"' in html
    for item in ("chair", "wall", "pillow"):
        assert f'id="q-equipment-{item}" name="equipment" value="{item}" checked' in html
    assert 'value="no" checked' in html.split('id="q-red-flags-fever-q"', 1)[1].split("</fieldset>", 1)[0]
    assert '<a href="#q-pain">' in html  # the summary links to the field


def test_every_answer_is_escaped_on_the_routine_page(client, questions):
    hostile = '<script>alert("x")</script>'
    html = client.post("/routine", data={**form_of(questions, DESK), "name": [hostile]}).text
    assert hostile not in html and "&lt;script&gt;alert(" in html


# --------------------------------------------------------------------------- coming back, and the PDF


def _carried(html: str) -> str:
    found = re.search(r'<input type="hidden" name="answers" value="([^"]*)">', html)
    assert found
    import html as h

    return h.unescape(found.group(1))


def test_the_answers_file_round_trips_through_the_page(client, questions, tmp_path, kb):
    page = client.post("/routine", data=form_of(questions, DESK)).text
    r = client.post("/answers.yaml", data={"answers": _carried(page)})
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    saved = tmp_path / "answers.yaml"
    saved.write_bytes(r.content)
    assert same(load_answers(str(saved), kb), parse_answers(DESK, "desk"))
    loaded = client.post("/load", files={"file": ("answers.yaml", r.content, "application/yaml")})
    assert loaded.status_code == 200 and "Your answers are filled in below" in loaded.text
    assert 'id="q-posture-forward-head" name="posture" value="forward_head" checked' in loaded.text
    again = client.post("/routine", data=form_of(questions, DESK)).text
    assert _carried(again) == _carried(page)


def test_change_my_answers_brings_the_form_back_filled(client, questions):
    page = client.post("/routine", data=form_of(questions, DESK)).text
    r = client.post("/edit", data={"answers": _carried(page)})
    assert r.status_code == 200
    assert 'name="sitting_hours" value="9"' in r.text and 'name="name" value="Sam"' in r.text


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"pain: [oops", "This file could not be read: not valid YAML"),
        (b"\xff\xfe\x00", "it is not text"),
        (b"- just\n- a list\n", "does not hold answers"),
    ],
)
def test_a_file_that_is_not_answers_is_refused_by_the_upload(client, content, said):
    r = client.post("/load", files={"file": ("x.yaml", content, "application/yaml")})
    assert r.status_code == 422 and said in r.text


def test_a_file_with_a_wrong_answer_fills_the_rest_and_names_it(client):
    text = json.dumps({**DESK, "pain": 12, "colour": "blue"}).encode()
    r = client.post("/load", files={"file": ("a.json", text, "application/json")})
    assert r.status_code == 422
    assert error_by(r.text, "q-pain") == "Please give a number from 0 to 10."
    assert "colour is not a known field" in r.text
    assert 'name="sitting_hours" value="9"' in r.text


def test_the_pdf_is_the_sheet(client, questions):
    page = client.post("/routine", data=form_of(questions, DESK)).text
    r = client.post("/routine.pdf", data={"answers": _carried(page)})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert (
        r.content.startswith(b"%PDF")
        and 'filename="stretching-routine.pdf"' in r.headers["content-disposition"]
    )
    import pypdf

    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    assert "Hip Flexor Stretch" in text


def test_tampered_answers_are_refused_without_a_traceback(client):
    r = client.post("/answers.yaml", data={"answers": '{"pain": 3}'})
    assert r.status_code == 422 and "could not be read" in r.text and "Traceback" not in r.text


# ----------------------------------------------------------------- one strict reader, on every route
#
# A parser keeps the last of a repeated key, so a second "red_flags" could hide
# the first one's red flag: every route that takes answers refuses it instead.

#: A safety screen answered twice: the second, empty one would hide saddle numbness.
TWICE = (
    '{"version":1,"areas":["low_back"],"pain":4,"duration_weeks":8,'
    '"red_flags":["saddle_numbness"],"red_flags":[]}'
)
DEEP = 1500
DEEP_BODIES = {
    "lists": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "in a field": '{"areas":' + "[" * DEEP + "]" * DEEP + ',"pain":4,"duration_weeks":8,"red_flags":[]}',
}
CARRYING = ["/edit", "/answers.yaml", "/routine.pdf"]


def message_of(html: str) -> str:
    """The text of a message page."""
    found = re.search(r"<h1>(.*?)</h1>\s*<p>(.*?)</p>", html, re.DOTALL)
    assert found, html[:500]
    return f"{found.group(1)}: {found.group(2)}"


def upload_error(html: str) -> str:
    found = re.search(r'id="answers-file-error"><span class="vh">Error: </span>(.*?)</p>', html)
    assert found, "no message by the file field"
    return found.group(1)


def test_the_api_refuses_a_repeated_key_naming_it(client):
    r = client.post("/api/recommend", content=TWICE, headers={"content-type": "application/json"})
    assert r.status_code == 422
    data = r.json()
    assert data["ok"] is False and len(data["errors"]) == 1
    assert data["errors"][0] == {"field": "red_flags", "message": "is given twice"}


@pytest.mark.parametrize("path", CARRYING)
def test_carried_answers_with_a_repeated_key_are_refused_naming_it(client, path):
    r = client.post(path, data={"answers": TWICE})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert message_of(r.text) == (
        "These answers could not be read: the answers sent with the page: red_flags: is given twice."
        " Start again from the questions page."
    )


@pytest.mark.parametrize("path", CARRYING)
def test_carried_answers_sent_twice_are_refused(client, path):
    r = client.post(path, data={"answers": [json.dumps(DESK), json.dumps(RED)]})
    assert r.status_code == 422
    assert "the answers sent with the page: given more than once." in message_of(r.text)


@pytest.mark.parametrize("kind", sorted(DEEP_BODIES))
def test_the_api_refuses_deep_nesting(client, kind):
    body = DEEP_BODIES[kind]
    r = client.post("/api/recommend", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["(body)"]
    assert "nested" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize("path", CARRYING)
@pytest.mark.parametrize("kind", sorted(DEEP_BODIES))
def test_carried_answers_nested_deep_are_refused(client, path, kind):
    r = client.post(path, data={"answers": DEEP_BODIES[kind]})
    assert r.status_code == 422 and "Traceback" not in r.text
    assert message_of(r.text).startswith("These answers could not be read: the answers sent with the page: ")
    assert "nested" in message_of(r.text)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("lists.json", DEEP_BODIES["lists"]),
        ("objects.json", DEEP_BODIES["objects"]),
        ("lists.yaml", "- " * DEEP + "x\n"),
        ("flow.yaml", "a: " + "[" * DEEP + "]" * DEEP + "\n"),
    ],
)
def test_an_uploaded_file_nested_deep_is_refused(client, name, content):
    r = client.post("/load", files={"file": (name, content.encode(), "application/octet-stream")})
    assert r.status_code == 422
    said = upload_error(r.text)
    assert said.startswith("This file could not be read: ") and "nested" in said


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("twice.json", TWICE, "This file could not be read: red_flags: is given twice."),
        (
            "twice.yaml",
            "areas: [low_back]\npain: 4\nduration_weeks: 8\nred_flags: [saddle_numbness]\nred_flags: []\n",
            "This file could not be read: red_flags: is given twice (line 5).",
        ),
    ],
)
def test_an_uploaded_file_with_a_repeated_key_is_refused(client, name, content, said):
    r = client.post("/load", files={"file": (name, content.encode(), "application/octet-stream")})
    assert r.status_code == 422
    assert upload_error(r.text) == said
    assert "Your answers are filled in below" not in r.text  # nothing of the file is used


def test_an_answer_sent_twice_with_different_values_is_refused_by_the_field(client, questions):
    raw = {**form_of(questions, DESK), "stress": ["low", "high"]}
    r = client.post("/routine", data=raw)
    assert r.status_code == 422
    assert error_by(r.text, "q-stress") == (
        "This answer was sent more than once with different values; please answer it again."
    )
    assert error_by(r.text, "q-pain") == ""
    assert '<a href="#q-stress-low">' in r.text  # the summary links to it


def test_a_safety_item_sent_as_both_yes_and_no_counts_as_yes(client, questions):
    """Never resolved by order, and never held up: the doubt goes toward the advice (issue 17)."""
    raw = {**form_of(questions, DESK), "red_flags:saddle_numbness": ["no", "yes"]}
    r = client.post("/routine", data=raw)
    assert r.status_code == 200
    assert "<h1>Get medical help today</h1>" in r.text and 'class="card"' not in r.text


def test_a_field_sent_twice_with_the_same_value_is_read_once(client, questions):
    raw = {**form_of(questions, DESK), "red_flags:saddle_numbness": ["no", "no"]}
    assert client.post("/routine", data=raw).status_code == 200


# --------------------------------------------------------------------------- the JSON API


def test_the_api_returns_the_v1_recommendation(client, kb):
    r = client.post("/api/recommend", json=DESK)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.text == render(recommend(kb, parse_answers(DESK, "desk")), "json")


def test_the_api_output_validates_against_the_shipped_schema(client):
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(
        resources.files("recommender").joinpath("schemas", "recommendation.schema.json").read_text()
    )
    for answers in (DESK, RED):
        jsonschema.validate(client.post("/api/recommend", json=answers).json(), schema)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**DESK, "pain": 11}, ["pain"]),
        ({**DESK, "pain": "5"}, ["pain"]),
        ({k: v for k, v in DESK.items() if k != "red_flags"}, ["red_flags"]),
        ({**DESK, "colour": "blue"}, ["colour"]),
        ({**DESK, "areas": ["knee"], "minutes": 1}, ["areas[0]", "minutes"]),
        ([1, 2], ["(body)"]),
    ],
)
def test_the_api_names_each_bad_field(client, body, fields):
    r = client.post("/api/recommend", json=body)
    assert r.status_code == 422
    data = r.json()
    assert data["ok"] is False and [e["field"] for e in data["errors"]] == fields
    assert all(e["message"] for e in data["errors"])


def test_the_api_refuses_what_is_not_json(client):
    r = client.post("/api/recommend", content=b"pain: 5", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "(body)"


def test_the_api_is_described_without_a_cdn(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/recommend"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["properties"]["red_flags"]
    assert set(op["responses"]) == {"200", "413", "422"}
    assert list(spec["paths"]) == ["/api/recommend"]  # the pages are not part of the API
    docs = client.get("/docs")
    assert docs.status_code == 200 and "POST /api/recommend" in docs.text
    assert not re.search(r'(src|href)="(?!/|#)', docs.text)
    assert client.get("/redoc").status_code == 404


# --------------------------------------------------------------------------- privacy and security


@pytest.mark.parametrize("path", ["/", "/docs", "/static/web.css", "/nowhere"])
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "set-cookie" not in r.headers


def test_pages_with_answers_are_never_cached(client, questions):
    assert client.post("/routine", data=form_of(questions, DESK)).headers["cache-control"] == "no-store"
    assert client.get("/").headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_load_nothing_from_elsewhere(client, path):
    html = client.get(path).text
    assert not re.search(r'(src|href|action)="(?!/|#)', html)
    assert re.findall(r'(?:src|href)="(/static/[^"]+)"', html) == ["/static/web.css", "/static/web.js"]


def test_only_the_pages_own_files_are_served(client):
    assert client.get("/static/web.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/form.html.j2").status_code == 404
    assert client.get("/static/..%2F..%2Fpyproject.toml").status_code == 404


@pytest.mark.parametrize("path", ["/api/recommend", "/routine", "/load"])
def test_a_large_body_is_refused(client, path):
    r = client.post(path, content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_answers_never_reach_the_log(client, questions, caplog):
    marker = "Zebedee Quux"
    with caplog.at_level(logging.DEBUG):
        client.post("/routine", data={**form_of(questions, DESK), "name": [marker]})
        client.post("/routine", data={**form_of(questions, DESK), "name": [marker], "pain": ["99"]})
        client.post("/api/recommend", json={**DESK, "name": marker})
    assert marker not in caplog.text and "sitting_hours" not in caplog.text


def test_answers_never_travel_in_a_url(client):
    html = client.get("/").text
    # load a file, check in with one (issue 20), the questions: every one a POST
    assert re.findall(r'<form[^>]*method="(\w+)"', html) == ["post", "post", "post"]
    r = client.get("/routine", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


# --------------------------------------------------------------------------- stretchwise serve


def test_serve_runs_one_uvicorn_on_the_given_address(runner, monkeypatch):
    import uvicorn

    from recommender.cli import cli

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    result = runner.invoke(cli, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert "http://127.0.0.1:8123/" in result.stderr


def test_serving_writes_nothing_to_disk(client, questions, tmp_path, monkeypatch):
    """A whole visit (form, routine, PDF, answers file, API) leaves the working
    folder and the temporary folder exactly as they were."""
    import tempfile

    work, temp = tmp_path / "work", tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    # A temporary folder of its own: other processes on the machine write to the shared one.
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert Path(tempfile.gettempdir()) == temp

    def listing():
        return sorted(p.name for p in work.iterdir()), sorted(p.name for p in temp.iterdir())

    before = listing()
    client.get("/")
    page = client.post("/routine", data=form_of(questions, DESK)).text
    client.post("/routine.pdf", data={"answers": _carried(page)})
    client.post("/answers.yaml", data={"answers": _carried(page)})
    client.post("/api/recommend", json={"areas": ["neck"], "pain": 3, "duration_weeks": 2, "red_flags": []})
    assert listing() == before


def _carried_answers(html: str) -> dict:
    import html as html_lib

    found = re.search(r'name="answers" value="([^"]*)"', html)
    assert found, "no answers carried by the page"
    return json.loads(html_lib.unescape(found.group(1)))


def test_the_form_pre_ticks_a_typical_home_and_can_say_none(client, questions):
    # issue 15: unsaid equipment is a typical home; the form shows it ticked, and a person who
    # unticks every box owns none of it (the page says it asked, so no box is not "unsaid")
    page = client.get("/").text
    ticked = set(re.findall(r'name="equipment" value="(\w+)" checked', page))
    assert ticked == {"chair", "wall", "doorway", "pillow", "towel"}
    sent = form_of(questions, {**DESK, "equipment": []})
    assert "equipment" not in sent or sent["equipment"] == []
    r = client.post("/routine", data={**sent, "equipment:asked": "1"})
    assert r.status_code == 200 and _carried_answers(r.text)["equipment"] == []
    r = client.post("/routine", data={k: v for k, v in sent.items() if k != "equipment"})
    assert _carried_answers(r.text)["equipment"] == ["chair", "wall", "doorway", "pillow", "towel"]


# --------------------------------------------------------------------------- issue 19: every response


@pytest.mark.parametrize("path", ["/", "/docs", "/favicon.ico", "/static/web.css"])
def test_head_works_wherever_get_does(client, path):
    get, head = client.get(path), client.head(path)
    assert get.status_code in (200, 204) and head.status_code == get.status_code
    assert head.content == b""


def test_only_a_static_file_that_was_found_may_be_cached(client):
    assert client.get("/static/web.css").headers["cache-control"] == "public, max-age=3600"
    for r in (client.get("/static/nothing.css"), client.post("/static/web.css")):
        assert r.status_code in (404, 405)
        assert r.headers["cache-control"] == "no-store"


def test_a_server_error_carries_the_security_headers_and_no_traceback(kb):
    from recommender.web import create_app

    app = create_app(kb)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug, for the test")

    with fastapi_testclient.TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert "Traceback" not in r.text and "a bug" not in r.text
    for header in ("content-security-policy", "x-frame-options", "referrer-policy", "x-content-type-options"):
        assert header in r.headers, header
    assert r.headers["cache-control"] == "no-store"
