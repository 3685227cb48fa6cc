"""The web check-in (issue 20) in a real browser: Playwright drives Debian's Chromium against
the app, as tests/test_web_browser.py does (its fixtures are reused). Skipped where
/usr/bin/chromium is missing, except in CI."""

from __future__ import annotations

from conftest import EXAMPLES
from test_web_browser import fill, server, visit  # noqa: F401 - fixtures, shared

FIRST = EXAMPLES / "follow-up" / "first.yaml"


def _check_in(page) -> None:
    page.set_input_files("#check-in-file", str(FIRST))
    page.click("button:has-text('Check in')")
    page.wait_for_selector("p.notice")


def test_a_person_checks_in_with_their_file_and_gets_the_follow_up_sheet(visit, kb):
    v = visit()
    page = v.page
    _check_in(page)
    assert "Welcome back" in page.locator("p.notice").inner_text()
    assert page.locator("#q-sitting-hours").input_value() == "9"  # last time's answers, carried in the page
    assert not page.locator("#q-red-flags-fever-no").is_checked()  # the safety screen is asked again
    assert page.locator("#q-days-done").is_visible()
    fill(page, kb, {"red_flags": [], "pain": 3})
    page.fill("#q-days-done", "12")
    page.click("label[for='q-overall-change-better']")
    page.click("text=Show my routine")
    page.wait_for_selector("h1:has-text('Your stretching routine')")
    box = page.locator("section.since")
    assert box.is_visible()
    said = " ".join(box.inner_text().split())
    assert "5 at the last visit, 3 now" in said and "12 of 14 days" in said
    assert "Front of Neck Stretch (SCM): hold 30 s instead of 20 s" in said
    with page.expect_download() as got:
        page.click("text=Download PDF")
    assert got.value.suggested_filename == "stretching-routine.pdf"


def test_a_worse_check_in_sends_to_a_therapist_with_what_was_done(visit, kb):
    page = visit().page
    _check_in(page)
    fill(page, kb, {"red_flags": [], "pain": 7})
    page.fill("#q-days-done", "11")
    page.click("label[for='q-overall-change-worse']")
    page.click("text=Show my routine")
    page.wait_for_selector("section.since")
    text = " ".join(page.locator("section.since").inner_text().split())
    assert "the routine stops here" in text and "show your therapist" in text and "Chin Tuck" in text
    assert page.locator("section.card").count() == 0  # nothing to do until a therapist has seen them
    assert "It is worse than at your last visit" in page.locator("section[aria-label='See a physical therapist']").inner_text()


def test_the_check_in_works_with_scripts_off(visit, kb):
    page = visit(javascript=False).page
    _check_in(page)
    fill(page, kb, {"red_flags": [], "pain": 5})
    page.fill("#q-days-done", "3")
    page.click("label[for='q-overall-change-same']")
    page.click("text=Show my routine")
    page.wait_for_selector("section.since")
    assert "shorter now" in page.locator("section.since").inner_text()
    assert page.locator("section.card").count() == 3
