"""A yes on the web page's safety screen reaches its advice, whatever else the form
holds (issue 17): a bare form POST, with every other field missing, empty, wrong
or sent twice. The same in a real browser is in tests/test_web_browser.py."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.answers import parse_answers
from recommender.derivation import said
from recommender.web import create_app
from recommender.web.form import STAND_IN, parse_form

fastapi_testclient = pytest.importorskip("fastapi.testclient")

RANK = {"self_care": 0, "physio": 1, "doctor_first": 2, "urgent": 3}


@pytest.fixture(scope="module")
def client(kb):
    with fastapi_testclient.TestClient(create_app(kb)) as c:
        yield c


def flag_levels(kb) -> dict[str, str]:
    """Each red flag's own level, read from the rules that test it alone."""
    out: dict[str, str] = {}
    for rule in kb.rules:
        tests = rule.when
        if rule.then.refer and len(tests) == 1 and getattr(tests[0], "answer", None) == "red_flags":
            for value in tests[0].values():
                out[value] = rule.then.refer
    return out


def other_fields(kb):
    """Every field of the form but the safety items, as one of: left out, empty, nonsense,
    sent twice with different values, or a real answer."""
    fields = {}
    for q in kb.questions:
        if q.ask_each:
            continue
        real = (
            st.lists(st.sampled_from([c.value for c in q.choices]), unique=True, max_size=3)
            if q.type == "any_of"
            else st.sampled_from([c.value for c in q.choices]).map(lambda v: [v])
            if q.type == "one_of"
            else st.sampled_from(["yes", "no"]).map(lambda v: [v])
            if q.type == "yes_no"
            else st.integers(-5, 120).map(lambda v: [str(v)])
            if q.type == "number"
            else st.text(max_size=90).map(lambda v: [v])
        )
        fields[q.id] = st.one_of(
            st.none(),
            st.just([""]),
            st.just(["zz"]),
            st.just(["1", "2"]),
            real,
        )
    return st.fixed_dictionaries(fields)


def form(kb, data) -> st.SearchStrategy:
    flags = [c.value for q in kb.questions if q.ask_each for c in q.choices]
    safety = st.fixed_dictionaries(
        {f: st.sampled_from([None, [""], ["no"], ["maybe"], ["no", "yes"], ["yes"]]) for f in flags}
    )
    raw = {}
    for key, value in data.draw(safety).items():
        if value is not None:
            raw[f"red_flags:{key}"] = value
    for key, value in data.draw(other_fields(kb)).items():
        if value is not None:
            raw[key] = value
            listed = key in {q.id for q in kb.questions if q.type == "any_of"}
            if listed and data.draw(st.booleans()):
                raw[f"{key}:asked"] = ["1"]
    return raw


def said_yes(raw) -> list[str]:
    return [k.split(":", 1)[1] for k, v in raw.items() if k.startswith("red_flags:") and "yes" in v]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_yes_on_the_safety_screen_always_reaches_its_advice(client, kb, data):
    raw = form(kb, data)
    yes = said_yes(raw)
    if not yes:  # make at least one yes, on a flag drawn like the rest
        flag = data.draw(st.sampled_from(sorted(flag_levels(kb))))
        raw[f"red_flags:{flag}"] = ["yes"]
        yes = [flag]
    r = client.post("/routine", data=raw)
    assert r.status_code == 200, r.text[:2000]
    page = html_lib.unescape(r.text)
    levels = flag_levels(kb)
    expected = max((levels[f] for f in yes), key=RANK.__getitem__)
    headline = kb.meta.levels[expected].headline
    assert f"<h1>{headline}</h1>" in page
    assert 'class="card"' not in page and "follow-data" not in page  # no exercise, no routine to follow
    for rule in kb.rules:  # each flag's own reason at that level is named
        if rule.then.refer == expected and any(
            getattr(t, "answer", None) == "red_flags" and set(t.values()) & set(yes) for t in rule.when
        ):
            assert " ".join(rule.then.message.split()) in " ".join(page.split())


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_after_a_yes_no_stand_in_shows_in_the_advice(kb, data):
    """What the answers take for a question left empty is never told to the doctor, and
    never decides the level; the page carries no answers on to save when one was used."""
    from recommender.pipeline import recommend
    from recommender.render import sheet_context

    raw = form(kb, data)
    if not said_yes(raw):
        raw["red_flags:" + data.draw(st.sampled_from(sorted(flag_levels(kb))))] = ["yes"]
    answers, set_aside = parse_form(kb.questions, raw)
    assert answers is not None
    rec = recommend(kb, answers)
    assert rec.routine is None
    stood_in = [k for k in STAND_IN if k in set_aside]
    if stood_in:
        tell = sheet_context(rec)["tell_the_doctor"]
        for key in stood_in:
            assert said({"answer": key, "value": STAND_IN[key]}) not in tell
        # the same advice as with the stand-ins left out of reach: the flags alone decide
        levels = flag_levels(kb)
        expected = max((levels[f] for f in answers.red_flags), key=RANK.__getitem__)
        assert rec.referral.level == expected or RANK[rec.referral.level] > RANK[expected]


def test_every_question_without_a_default_has_a_stand_in(kb):
    needed = {q.id for q in kb.questions if not q.has_default and not q.ask_each}
    assert needed == set(STAND_IN)
    parse_answers({"version": 1, "red_flags": ["fever"], **STAND_IN}, "stand-in")  # valid answers


def test_the_saddle_numbness_yes_with_the_rest_empty_is_the_emergency_page(client):
    """The case of the issue: only the yes, nothing else."""
    r = client.post("/routine", data={"red_flags:saddle_numbness": "yes"})
    assert r.status_code == 200
    assert "<h1>Get medical help today</h1>" in r.text
    assert "Please check" not in r.text
    # the answers it could not read are named, and no button carries stand-ins on
    assert "Some answers were left out" in r.text
    assert 'name="answers"' not in r.text and 'formaction="/answers.yaml"' not in r.text
    assert re.search(r"<li>Where does it hurt\?", r.text)


def test_a_complete_form_with_a_yes_keeps_its_buttons(client, kb):
    from recommender.web.form import raw_from_answers

    raw = raw_from_answers(kb.questions, {"areas": ["low_back"], "pain": 6, "duration_weeks": 2,
                                          "red_flags": ["fever"]})
    r = client.post("/routine", data=raw)
    assert r.status_code == 200 and "<h1>See a doctor before you start</h1>" in r.text
    assert 'formaction="/answers.yaml"' in r.text and "Some answers were left out" not in r.text


def test_without_a_yes_an_empty_answer_still_asks_again(client, kb):
    r = client.post("/routine", data={"red_flags:saddle_numbness": "no"})
    assert r.status_code == 422 and "Please check these answers" in r.text
