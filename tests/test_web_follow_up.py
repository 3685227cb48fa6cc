"""The web page's "Check in" path (issue 20), through the app: the saved answers file is
carried in the page (never stored), the safety screen is asked again, the check-in comes
last, and the follow-up sheet is shown."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from conftest import EXAMPLES

from recommender.web import create_app

fastapi_testclient = pytest.importorskip("fastapi.testclient")

FIRST = (EXAMPLES / "follow-up" / "first.yaml").read_bytes()
NO_FLAGS = {f"red_flags:{c}": ["no"] for c in (
    "saddle_numbness", "bladder_bowel_change", "progressive_weakness", "sudden_severe_headache",
    "vision_speech_or_swallowing", "dizziness_neck_movement", "clumsy_hands_or_gait", "trauma", "fever",
    "immune_suppression", "cancer_history", "weight_loss", "night_pain")}


@pytest.fixture(scope="module")
def client(kb):
    with fastapi_testclient.TestClient(create_app(kb)) as c:
        yield c


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name}"
    return html_lib.unescape(found.group(1))


def _form(page: str) -> dict[str, list[str]]:
    """What the browser would send: the filled text inputs, checked boxes and hidden fields."""
    sent: dict[str, list[str]] = {}
    form = page[page.index('<form id="questions"'):]
    for m in re.finditer(r'<input type="(text|hidden)"[^>]*name="([^"]+)" value="([^"]*)"', form):
        sent.setdefault(m.group(2), []).append(html_lib.unescape(m.group(3)))
    for m in re.finditer(r'<input type="(?:radio|checkbox)" id="[^"]*" name="([^"]+)" value="([^"]*)" checked', form):
        sent.setdefault(m.group(1), []).append(m.group(2))
    return sent


def test_the_form_page_offers_to_check_in(client):
    page = client.get("/").text
    assert 'action="/check-in"' in page and "Check in" in page


def test_check_in_carries_the_file_and_asks_the_screen_again(client):
    page = client.post("/check-in", files={"file": ("answers.yaml", FIRST, "application/yaml")}).text
    assert 'action="/follow-up"' in page and "Since last time" in page
    assert '"sitting_hours":9' in _hidden(page, "earlier").replace(" ", "")
    sent = _form(page)
    assert sent["sitting_hours"] == ["9"] and sent["pain"] == ["5"]
    assert not [k for k in sent if k.startswith("red_flags:")]  # to answer again: nothing pre-ticked
    # sent as it is, the screen is unanswered: the page comes back saying so, the earlier answers kept
    again = client.post("/follow-up", data=sent)
    assert again.status_code == 422 and _hidden(again.text, "earlier") == _hidden(page, "earlier")


def test_the_check_in_gives_the_follow_up_sheet_and_its_pdf(client):
    page = client.post("/check-in", files={"file": ("answers.yaml", FIRST, "application/yaml")}).text
    sent = {**_form(page), **NO_FLAGS, "pain": ["3"], "days_done": ["12"], "overall_change": ["better"]}
    r = client.post("/follow-up", data=sent)
    assert r.status_code == 200, r.text[:500]
    assert "Since last time" in r.text and "It is going well" in r.text
    assert "hold 30 s instead of 20 s" in r.text
    carried = {"answers": _hidden(r.text, "answers"), "earlier": _hidden(r.text, "earlier")}
    pdf = client.post("/routine.pdf", data=carried)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_red_flag_at_the_check_in_gives_the_referral_alone(client):
    page = client.post("/check-in", files={"file": ("answers.yaml", FIRST, "application/yaml")}).text
    sent = {**_form(page), **NO_FLAGS, "red_flags:fever": ["yes"], "days_done": ["12"], "overall_change": ["better"]}
    r = client.post("/follow-up", data=sent)
    assert r.status_code == 200
    assert "See a doctor" in r.text and "Since last time" not in r.text
    assert "Start: do the routine with a timer" not in r.text  # no routine to follow
    assert "Stop the exercises from your last sheet now" in r.text  # and last time's stops, in words


def test_a_bad_file_at_the_check_in_is_named(client):
    r = client.post("/check-in", files={"file": ("a.yaml", b"areas: [neck]\npain: 12\n", "application/yaml")})
    assert r.status_code == 422 and "This file could not be read" in r.text


def test_forged_earlier_answers_are_refused(client):
    page = client.post("/check-in", files={"file": ("answers.yaml", FIRST, "application/yaml")}).text
    sent = {**_form(page), **NO_FLAGS, "earlier": ['{"pain": 5, "pain": 1}']}
    r = client.post("/follow-up", data=sent)
    assert r.status_code == 422 and "last visit" in r.text


@pytest.mark.parametrize("path", ["/check-in", "/follow-up"])
def test_a_large_body_is_refused_at_the_check_in_too(client, path):
    from recommender.web.guard import MAX_BODY

    r = client.post(path, content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413
