"""Accessibility as a test (issue 17): axe-core, pinned in tests/axe (npm ci), is run
inside Chromium on every page the web app shows, at desktop and phone size, and
must find nothing; and the whole form can be filled with the keyboard alone.

axe is evaluated through the browser's devtools protocol, so the pages keep their
Content-Security-Policy (nothing is injected into them as a script tag) and load
nothing from elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES
from test_web_browser import fill, server, visit  # noqa: F401  (fixtures)

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
DESK = yaml.safe_load((EXAMPLES / "desk-worker.yaml").read_text())
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI installs axe-core: {AXE} is missing (npm ci --prefix tests/axe)")
        pytest.skip("axe-core is not installed (npm ci --prefix tests/axe)")
    return AXE.read_text(encoding="utf-8")


def violations(page, axe_source: str) -> list[str]:
    """axe's violations on the page as it is now, one line each (rule, impact, where)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source + "\n;undefined")
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => v.id + " (" + v.impact + "): " +
                v.nodes.map(n => n.target.join(" ")).join(", "));
        }"""
    )
    return list(found)


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways: {width} px"


def the_pages(page, server, kb):
    """Every page a person meets, in turn: yields its name once it is showing."""
    page.goto(server + "/")
    yield "the empty form"
    fill(page, kb, DESK)
    yield "the filled form"
    page.fill("#q-pain", "11")
    page.click("text=Show my routine")
    page.wait_for_selector("#error-summary")
    yield "the form with an error"
    page.fill("#q-pain", "5")
    page.click("text=Show my routine")
    page.wait_for_selector("h1:has-text('Your stretching routine')")
    yield "the routine page"
    page.click("#follow-start")
    yield "following along"
    page.click("#follow-go")
    yield "following along, a hold"
    while page.locator("#follow-next").is_visible():
        page.click("#follow-next")
    while page.locator("#follow-end").is_hidden():
        page.click("#follow-skip" if page.locator("#follow-skip").is_visible() else "#follow-go")
    yield "the end of following along, with its tracker"
    page.click("#follow-close")
    page.evaluate(
        """() => { const f = document.createElement("form"); f.method = "post"; f.action = "/edit";
           const i = document.createElement("input"); i.name = "answers"; i.value = '{"pain": ';
           f.appendChild(i); document.body.appendChild(f); f.submit(); }"""
    )
    page.wait_for_selector("h1:has-text('These answers could not be read')")
    yield "the page for answers that could not be read"
    page.goto(server + "/")
    fill(page, kb, {"areas": ["low_back"], "pain": 4, "duration_weeks": 3})
    page.click("label[for='q-red-flags-fever-yes']")
    page.click("#stop-box button")
    page.wait_for_selector("h1:has-text('See a doctor before you start')")
    yield "the doctor-first page"
    page.goto(server + "/")
    page.click("label[for='q-red-flags-saddle-numbness-yes']")
    page.click("#stop-box button")
    page.wait_for_selector("h1:has-text('Get medical help today')")
    yield "the urgent page, other answers left empty"
    page.goto(server + "/docs")
    yield "/docs"


@pytest.mark.parametrize("size", sorted(SIZES))
def test_axe_finds_nothing_on_any_page(visit, server, kb, axe_source, size):  # noqa: F811
    v = visit()
    page = v.page
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    seen = []
    for name in the_pages(page, server, kb):
        seen.append(name)
        assert violations(page, axe_source) == [], name
        no_sideways_scroll(page)
    assert len(seen) == 11
