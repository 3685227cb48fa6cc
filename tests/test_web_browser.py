"""The web app in a real browser, used as a person would: Playwright drives
Debian's Chromium (no browser download) against `stretchwise serve`'s app on a
free local port. Skipped where /usr/bin/chromium is missing, except in CI."""

from __future__ import annotations

import io
import re
import socket
import threading
import time

import pytest
import yaml
from conftest import EXAMPLES

from recommender.reader import load_answers

DESK = yaml.safe_load((EXAMPLES / "desk-worker.yaml").read_text())


@pytest.fixture(scope="module")
def server(kb):
    uvicorn = pytest.importorskip("uvicorn")
    from recommender.web import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(kb), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


class Visit:
    """A browser tab that records every request to elsewhere and every policy complaint."""

    def __init__(self, browser, server, javascript=True):
        self.context = browser.new_context(java_script_enabled=javascript, accept_downloads=True)
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.complaints: list[str] = []
        self.page.on("request", lambda r: None if r.url.startswith(server) else self.outside.append(r.url))
        # A form sent back with errors comes with status 422, which Chromium notes as a failed load.
        self.page.on(
            "console",
            lambda m: (
                self.complaints.append(m.text)
                if m.type == "error"
                and not m.text.startswith(
                    "Failed to load resource: the server responded with a status of 422"
                )
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.complaints.append(str(e)))
        self.page.goto(server + "/")

    def close(self):
        self.context.close()
        assert self.outside == [], self.outside
        assert self.complaints == [], self.complaints


@pytest.fixture
def visit(browser, server):
    opened = []

    def open_(javascript=True):
        v = Visit(browser, server, javascript)
        opened.append(v)
        return v

    yield open_
    for v in opened:
        v.close()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def fill(page, kb, answers: dict) -> None:
    """Answer the form as a person would: click the labels, type the numbers."""
    for q in kb.questions:
        if q.id not in answers:
            continue
        value = answers[q.id]
        base = f"#q-{slug(q.id)}"
        if q.ask_each:
            for c in q.choices:
                said = "yes" if c.value in value else "no"
                page.click(f"label[for='q-{slug(q.id)}-{slug(c.value)}-{said}']")
        elif q.type == "yes_no":
            page.click(f"label[for='q-{slug(q.id)}-{'yes' if value else 'no'}']")
        elif q.type == "one_of":
            page.click(f"label[for='q-{slug(q.id)}-{slug(value)}']")
        elif q.type == "any_of":
            for c in q.choices:
                box = page.locator(f"{base}-{slug(c.value)}")
                if box.is_checked() != (c.value in value):
                    page.click(f"label[for='q-{slug(q.id)}-{slug(c.value)}']")
        else:
            page.fill(base, "" if value is None else str(value))


def pdf_text(page) -> str:
    import pypdf

    data = page.pdf(format="A4", print_background=True)
    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_desk_worker_gets_the_hip_flexor_stretch_and_its_why_and_prints_it(visit, kb):
    v = visit()
    page = v.page
    fill(page, kb, DESK)
    page.click("text=Show my routine")
    page.wait_for_selector("h1:has-text('Your stretching routine')")
    card = page.locator("section.card", has_text="Hip Flexor Stretch")
    assert card.is_visible() and "you sit about 9 hours a day" in card.inner_text()
    why = page.locator("#why-hip_flexor_stretch")
    assert "Because you said: you sit about 9 hours a day" in why.inner_text()
    why.locator("summary").click()
    assert why.locator("text=tight muscles at the front of the hip").first.is_visible()
    assert page.locator("button[data-print]").is_visible()
    text = pdf_text(page)
    assert "Hip Flexor Stretch" in text and "Two weeks" in text
    assert "Why these stretches" not in text and "Download PDF" not in text  # the paper is the sheet


def test_the_answers_file_and_the_pdf_download_and_the_file_brings_the_answers_back(visit, kb, tmp_path):
    v = visit()
    page = v.page
    fill(page, kb, DESK)
    page.click("text=Show my routine")
    with page.expect_download() as got:
        page.click("text=Save my answers file")
    saved = tmp_path / "answers.yaml"
    got.value.save_as(saved)
    assert load_answers(str(saved), kb).sitting_hours == 9
    with page.expect_download() as got:
        page.click("text=Download PDF")
    assert got.value.suggested_filename == "stretching-routine.pdf"
    page.goto(page.url.rsplit("/", 1)[0] + "/")
    page.set_input_files("#answers-file", str(saved))
    page.click("text=Load my answers")
    assert page.locator("#q-sitting-hours").input_value() == "9"
    assert page.locator("#q-equipment-pillow").is_checked()
    assert page.locator("#q-stiff-to-turn-head-yes").is_checked()


def test_a_red_flag_shows_the_referral_and_no_exercise(visit, kb):
    v = visit()
    page = v.page
    fill(page, kb, {"areas": ["low_back"], "pain": 7, "duration_weeks": 1})
    stop = page.locator("#stop-box")
    assert stop.is_hidden()
    page.click("label[for='q-red-flags-saddle-numbness-yes']")
    assert stop.is_visible()  # the rest of the questions do not matter now
    stop.locator("button").click()
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == "Get medical help today"
    assert page.locator(".box.urgent").is_visible()
    assert page.locator("section.card").count() == 0
    assert "Why these stretches" not in page.content()
    assert "exercise" not in pdf_text(page).lower().replace("no exercises are given", "")


def test_a_bad_value_shows_the_message_by_the_field_and_keeps_the_rest(visit, kb):
    v = visit()
    page = v.page
    fill(page, kb, {**DESK, "pain": 11})
    page.click("text=Show my routine")
    error = page.locator("#q-pain-q .error")
    assert " ".join(error.inner_text().split()) == "Error: Please give a number from 0 to 10."
    assert page.locator("#error-summary").evaluate("e => e === document.activeElement")
    assert page.locator("#q-pain").input_value() == "11"
    assert page.locator("#q-pain").get_attribute("aria-invalid") == "true"
    assert page.locator("#q-sitting-hours").input_value() == "9"
    assert page.locator("#q-name").input_value() == "Sam"
    assert page.locator("#q-equipment-wall").is_checked() and page.locator("#q-areas-neck").is_checked()
    assert page.locator("#q-red-flags-fever-no").is_checked()
    page.fill("#q-pain", "5")
    page.click("text=Show my routine")
    assert page.locator("h1").inner_text() == "Your stretching routine"


def test_the_skip_logic_hides_and_shows_questions(visit):
    page = visit().page
    stiff, home, kneel = (
        page.locator(f"#q-{k}-q") for k in ("stiff-to-turn-head", "home-care-not-helping", "kneeling-hurts")
    )
    turning = page.locator("#q-worse-with-turning-head")
    assert stiff.is_hidden() and home.is_hidden() and kneel.is_visible() and turning.is_hidden()
    page.focus("#q-areas-neck")
    page.keyboard.press("Space")  # by keyboard
    assert stiff.is_visible() and turning.is_visible()
    page.keyboard.press("Space")
    page.click("label[for='q-areas-upper-back']")
    assert stiff.is_hidden() and turning.is_visible()
    page.fill("#q-duration-weeks", "6")
    assert home.is_visible()
    page.fill("#q-duration-weeks", "5")
    assert home.is_hidden()
    page.click("label[for='q-floor-ok-no']")
    assert kneel.is_hidden()
    assert page.locator("#q-kneeling-hurts-yes").is_disabled()  # a hidden answer is not sent
    assert page.locator(".when-note").first.is_hidden()  # the notes are for pages without scripts


def test_the_form_works_with_javascript_off(visit, kb):
    v = visit(javascript=False)
    page = v.page
    assert page.locator("#q-stiff-to-turn-head-q").is_visible()  # every question shows
    assert page.locator("#q-home-care-not-helping-q .when-note").is_visible()
    fill(page, kb, {**DESK, "home_care_not_helping": True})  # 8 weeks: asked, and answered
    page.click("text=Show my routine")
    assert page.locator("h1").inner_text() == "Your stretching routine"
    assert page.locator("section.card", has_text="Hip Flexor Stretch").is_visible()
    assert page.locator("button[data-print]").is_hidden()
    assert "Print command" in page.locator("nav.toolbar").inner_text()


# --------------------------------------------------------------------------- issue 17


@pytest.mark.parametrize("javascript", [True, False], ids=["scripts on", "scripts off"])
def test_a_yes_with_everything_else_empty_reaches_the_emergency_advice(visit, javascript):
    """Someone ticks saddle numbness and sends the form at once: the advice, not "Please check"."""
    v = visit(javascript=javascript)
    page = v.page
    page.click("label[for='q-red-flags-saddle-numbness-yes']")
    page.fill("#q-sitting-hours", "lots")  # a wrong answer further down changes nothing
    if javascript:
        page.click("#stop-box button")
    else:
        assert page.locator("#stop-box").is_hidden()
        page.click("text=Show my routine")
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == "Get medical help today"
    assert page.locator(".box.urgent").is_visible() and page.locator("section.card").count() == 0
    assert "Numbness between the legs" in page.locator(".box.urgent").inner_text()
    left_out = page.locator(".set-aside").inner_text()
    assert "Where does it hurt?" in left_out and "how many hours do you spend sitting?" in left_out
    assert page.locator("input[name=answers]").count() == 0  # nothing of it is carried on to save


def test_the_whole_form_by_keyboard_alone(visit, kb):
    """Tab, arrows, space and typing only: from the top of the page to the routine."""
    page = visit().page
    want: dict[str, object] = {}
    for q in kb.questions:
        if q.ask_each:
            for c in q.choices:
                want[f"{q.id}:{c.value}"] = "yes" if c.value in DESK["red_flags"] else "no"
        elif q.id in DESK:
            value = DESK[q.id]
            want[q.id] = ("yes" if value else "no") if isinstance(value, bool) else value
    for _ in range(400):
        page.keyboard.press("Tab")
        el = page.evaluate(
            "() => { const e = document.activeElement; return {tag: e.tagName, type: e.type || '',"
            " name: e.name || '', value: e.value || '', checked: !!e.checked, text: e.textContent}; }"
        )
        name = el["name"]
        if el["tag"] == "BUTTON" and el["text"] == "Show my routine":
            page.keyboard.press("Enter")
            break
        if name not in want:
            continue
        goal = want[name]
        if el["type"] == "text":
            page.keyboard.press("Control+A")
            page.keyboard.type("" if goal is None else str(goal))
            if goal is None or goal == "":
                page.keyboard.press("Delete")
        elif el["type"] == "radio":
            for _ in range(12):
                now = page.evaluate("() => [document.activeElement.value, document.activeElement.checked]")
                if now == [goal, True]:
                    break
                if now[0] == goal:
                    page.keyboard.press("Space")
                else:
                    page.keyboard.press("ArrowDown")
        elif el["type"] == "checkbox":
            if el["checked"] != (el["value"] in goal):
                page.keyboard.press("Space")
    else:
        pytest.fail("never reached the button by Tab")
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == "Your stretching routine"
    assert page.locator("section.card", has_text="Hip Flexor Stretch").is_visible()
    assert "For Sam" in page.locator("p.meta").inner_text()


def test_on_a_phone_the_title_comes_first_and_the_tracker_fits(visit, kb, browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(server + "/")
        fill(page, kb, DESK)
        page.click("text=Show my routine")
        page.wait_for_selector("section.card")
        card = page.locator("section.card").nth(1)
        title, why = card.locator("h3").bounding_box(), card.locator(".why").bounding_box()
        assert title["y"] < why["y"]
        tracker = page.locator(".phone-tracker")
        assert tracker.is_visible() and page.locator(".tracker > table").is_hidden()
        assert tracker.locator("table").count() == 2
        weeks = tracker.locator("table")
        assert [weeks.nth(i).locator("tr").first.locator("td, th").count() for i in (0, 1)] == [8, 8]
        box = tracker.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        # on paper, the sheet's own table, and no phone tracker
        page.emulate_media(media="print")
        assert page.locator(".tracker > table").is_visible() and tracker.is_hidden()
    finally:
        context.close()


def test_at_desktop_width_the_four_buttons_sit_in_one_row(visit, kb):
    page = visit().page
    page.set_viewport_size({"width": 1280, "height": 900})
    fill(page, kb, DESK)
    page.click("text=Show my routine")
    buttons = page.locator("nav.toolbar form button:visible")
    assert buttons.count() == 4
    tops = {round(buttons.nth(i).bounding_box()["y"]) for i in range(4)}
    assert len(tops) == 1, tops
    assert page.locator("header.site").inner_text().startswith("Stretchwise")
