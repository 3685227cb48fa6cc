"""Follow along (issue 17): "Start" on the routine page walks the routine in time.

The sequence is the server's (recommender.web.follow, from the Recommendation);
the page's script only plays it. Played in Chromium with Playwright's fake clock,
so a 30-second hold takes no time: the order, the sides, the rests, pausing and
skipping, and the end screen's tracker kept in the browser only."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import yaml
from conftest import EXAMPLES

from recommender.pipeline import recommend
from recommender.reader import load_answers
from recommender.web.follow import GET_READY_SECONDS, LET_GO_SECONDS, SET_REST_SECONDS, sequence
from test_web_browser import fill, server, visit  # noqa: F401  (fixtures)

DESK = yaml.safe_load((EXAMPLES / "desk-worker.yaml").read_text())
SETUP_SECONDS = 20  # recommender.selection: the time an exercise takes besides its dose


# --------------------------------------------------------------------------- the sequence


@pytest.mark.parametrize(
    "path", [EXAMPLES / "desk-worker.yaml", EXAMPLES.parent / "tests/personas/chain1-sitter.yaml"]
)
def test_the_sequence_is_the_dose_the_routine_counts(kb, path):
    """Holds and rests add up to the time the routine gives each exercise; the let-go and
    change-of-side moments are extra; every side is done as often as the other."""
    rec = recommend(kb, load_answers(str(path), kb))
    for ex in rec.routine.exercises:
        steps = sequence(ex)
        assert steps[0]["kind"] == "begin"
        holds = [s for s in steps if s["kind"] == "hold"]
        reps = [s for s in steps if s["kind"] == "reps"]
        rests = [s for s in steps if s["kind"] == "rest"]
        assert len(rests) == ex.dose.sets - 1 and all(s["seconds"] == SET_REST_SECONDS for s in rests)
        sides = 2 if ex.dose.each_side else 1
        if ex.dose.hold_seconds:
            assert not reps and len(holds) == ex.dose.reps * sides * ex.dose.sets
            timed = sum(s["seconds"] for s in holds + rests)
            assert timed + SETUP_SECONDS == ex.seconds, ex.id
        else:
            assert not holds and len(reps) == sides * ex.dose.sets
            assert all(s["reps"] == ex.dose.reps for s in reps)
        if ex.dose.each_side:
            work = holds + reps
            assert [s["side"] for s in work].count("left") == [s["side"] for s in work].count("right")
            assert any("left side" in s["say"] for s in steps) and any(
                s["say"].startswith(("Now the right side", f"Set 1 of {ex.dose.sets}. Now the right"))
                for s in steps
            )
        for s in steps:
            assert s["kind"] != "let_go" or s["seconds"] == LET_GO_SECONDS
            assert s["kind"] != "ready" or s["seconds"] == GET_READY_SECONDS


def test_the_page_carries_the_servers_sequence(kb):
    from recommender.web.pages import routine_page

    answers = load_answers(str(EXAMPLES / "desk-worker.yaml"), kb)
    rec = recommend(kb, answers)
    html, _ = routine_page(kb, rec, answers)
    island = html.split('<script type="application/json" id="follow-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(island)
    assert [e["id"] for e in data["exercises"]] == [e.id for e in rec.routine.exercises]
    assert [e["sequence"] for e in data["exercises"]] == [sequence(e) for e in rec.routine.exercises]


# --------------------------------------------------------------------------- in the browser


def routine(v, server, kb, answers):
    page = v.page
    page.clock.install(time=datetime(2026, 11, 30, 9, 0))  # a fake clock: timers run only when told
    page.goto(server + "/")
    fill(page, kb, answers)
    page.click("text=Show my routine")
    page.wait_for_selector("#follow-start")
    return page


def said(page) -> str:
    return page.locator("#follow-say").inner_text()


def test_follow_along_holds_sides_pause_and_skip(visit, server, kb):
    v = visit()
    page = routine(v, server, kb, DESK)
    assert page.locator("#follow").is_hidden()
    page.click("#follow-start")
    assert page.locator("#follow-title").evaluate("e => e === document.activeElement")
    assert page.locator("section.card").first.is_hidden()  # the walk-through stands alone
    assert page.locator("#follow-name").inner_text() == "Chin Tuck"
    assert page.locator("#follow-figure svg").count() == 1
    assert said(page) == "Chin Tuck, exercise 1 of 5. Get into place for the Chin Tuck, then press Go."
    assert page.locator("#follow-say").get_attribute("aria-live") == "polite"
    page.clock.run_for(60_000)  # waits for the person
    assert page.locator("#follow-phase").inner_text() == "Get ready"
    page.click("#follow-go")
    assert said(page) == "Set 1 of 2. Hold 1 of 10: 5 seconds."
    assert page.locator("#follow-count").inner_text() == "5"
    page.clock.run_for(2_000)
    assert page.locator("#follow-count").inner_text() == "3"
    page.click("#follow-pause")
    assert said(page) == "Paused." and page.locator("#follow-pause").inner_text() == "Resume"
    page.clock.run_for(20_000)
    assert page.locator("#follow-count").inner_text() == "3"  # paused: nothing moves
    page.click("#follow-pause")
    page.clock.run_for(3_000)
    assert page.locator("#follow-phase").inner_text() == "Let go" and said(page) == "Let go."
    page.clock.run_for(3_000)
    assert said(page) == "Hold 2 of 10: 5 seconds."
    page.click("#follow-skip")  # skips the rest of this hold
    assert said(page) == "Let go."
    page.click("#follow-next")  # on to the next exercise
    assert page.locator("#follow-name").inner_text() == "Hip Flexor Stretch"
    assert page.locator("#follow-where").inner_text() == "Exercise 2 of 5"
    page.click("#follow-go")
    assert said(page) == "Start with the left side. Hold 1 of 2: 30 seconds."
    assert page.locator("#follow-phase").inner_text() == "Hold · left side"
    page.clock.run_for(30_000 + 3_000 + 30_000)
    assert said(page) == "Now the right side."
    assert page.locator("#follow-phase").inner_text() == "Now the right side"
    page.clock.run_for(5_000)
    assert said(page) == "Hold 1 of 2: 30 seconds."
    assert page.locator("#follow-phase").inner_text() == "Hold · right side"
    page.click("#follow-stop")  # back to the routine, nothing ticked
    assert page.locator("section.card").first.is_visible() and page.locator("#follow").is_hidden()
    assert page.evaluate("() => localStorage.getItem('stretchwise-tracker')") is None


def test_by_keyboard_the_focus_stays_on_a_control(visit, server, kb):
    v = visit()
    page = routine(v, server, kb, DESK)
    page.focus("#follow-start")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # from the heading to Go
    assert page.evaluate("() => document.activeElement.id") == "follow-go"
    page.keyboard.press("Enter")  # Go hides during a hold: the focus moves to Pause
    assert page.evaluate("() => document.activeElement.id") == "follow-pause"
    page.keyboard.press("Space")
    assert said(page) == "Paused."
    page.keyboard.press("Space")
    assert said(page) == "Going on."


def test_the_end_ticks_today_on_this_device_only(visit, server, kb):
    v = visit()
    page = routine(v, server, kb, DESK)
    asked: list[str] = []  # the page has all it needs: following along asks the network for nothing
    page.on("request", lambda r: None if r.url.endswith("/favicon.ico") else asked.append(r.url))
    page.click("#follow-start")
    for _ in range(4):
        page.click("#follow-next")
    assert page.locator("#follow-next").is_hidden()  # the last exercise
    page.click("#follow-go")
    for _ in range(20):
        if page.locator("#follow-end").is_visible():
            break
        page.click("#follow-skip")
    assert page.locator("#follow-end").is_visible()
    today = page.evaluate(
        "() => { const d = new Date(); return [d.getFullYear(), d.getMonth() + 1, d.getDate()]; }"
    )
    iso = date(*today).isoformat()
    kept = json.loads(page.evaluate("() => localStorage.getItem('stretchwise-tracker')"))
    assert kept == {"start": iso, "done": [iso]}
    ticked = page.locator("#follow-tracker td.done")
    assert ticked.count() == 1 and ticked.get_attribute("data-day") == iso
    assert page.locator("#follow-tracker td").count() == 14
    assert said(page).startswith("Done for today.")
    # back another day: the same fortnight, two ticks
    page.clock.run_for(24 * 3600 * 1000)
    page.click("#follow-close")
    page.click("#follow-start")
    for _ in range(4):
        page.click("#follow-next")
    page.click("#follow-go")
    while not page.locator("#follow-end").is_visible():
        page.click("#follow-skip")
    assert page.locator("#follow-tracker td.done").count() == 2
    page.emulate_media(media="print")
    page.evaluate("() => document.body.classList.add('print-tracker')")
    assert page.locator("#follow-tracker").is_visible() and page.locator("#follow-print").is_hidden()
    assert page.locator("section.card").first.is_hidden()
    assert asked == []
    # v.close() checks that no request left this server


def test_a_rep_counter_for_moves_that_are_not_held(visit, server, kb):
    answers = yaml.safe_load((EXAMPLES.parent / "tests/personas/chain3-stiff-neck.yaml").read_text())
    v = visit()
    page = routine(v, server, kb, answers)
    page.click("#follow-start")
    while page.locator("#follow-name").inner_text() != "Shoulder Shrugs and Rolls":
        page.click("#follow-next")
    page.click("#follow-go")
    assert page.locator("#follow-phase").inner_text().startswith("Count")
    reps = int(page.locator("#follow-count").inner_text().split(" of ")[1])
    page.clock.run_for(120_000)
    assert page.locator("#follow-count").inner_text() == f"0 of {reps}"  # the person sets the pace
    page.focus("#follow-go")
    for i in range(1, reps):
        page.keyboard.press("Enter")  # by keyboard
        assert page.locator("#follow-count").inner_text() == f"{i} of {reps}"
        assert said(page) == f"{i} of {reps}."
    page.keyboard.press("Enter")  # the last one moves on, to what the server's sequence says
    rec = recommend(kb, load_answers(str(EXAMPLES.parent / "tests/personas/chain3-stiff-neck.yaml"), kb))
    exercises = rec.routine.exercises
    at = next(i for i, e in enumerate(exercises) if e.id == "shrugs_and_rolls")
    steps = sequence(exercises[at])
    first_reps = [s["kind"] for s in steps].index("reps")
    if first_reps + 1 < len(steps):
        assert said(page) == steps[first_reps + 1]["say"]
    elif at + 1 < len(exercises):
        nxt = exercises[at + 1]
        assert said(page) == f"{nxt.name}, exercise {at + 2} of {len(exercises)}. {sequence(nxt)[0]['say']}"
    else:
        assert said(page).startswith("Done for today.")


def test_without_javascript_there_is_no_start_button(visit, server, kb):
    v = visit(javascript=False)
    page = v.page
    fill(page, kb, DESK)
    page.click("text=Show my routine")
    assert page.locator("#follow-start").is_hidden() and page.locator("#follow").is_hidden()
    assert page.locator("section.card").first.is_visible()


def test_reduced_motion_keeps_the_countdown_still(visit, server, kb):
    v = visit()
    page = routine(v, server, kb, DESK)
    page.click("#follow-start")
    page.click("#follow-go")
    bar = page.locator("#follow-bar")
    assert bar.evaluate("e => getComputedStyle(e).transitionDuration") == "1s"
    page.emulate_media(reduced_motion="reduce")
    assert bar.evaluate("e => getComputedStyle(e).transitionProperty") == "none"
