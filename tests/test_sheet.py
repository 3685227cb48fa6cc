"""The printable sheet as a person prints it: PDF page counts, no card split
across pages, nothing loaded from outside, in WeasyPrint and in a real Chromium.

Refresh the README's picture of page 1 with
STRETCHWISE_UPDATE_GOLDEN=1 pytest tests/test_sheet.py -k screenshot
"""

from __future__ import annotations

import io
import os
import re
from datetime import date
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, person

from conftest import load_answers
from recommender.render import render
from recommender.pipeline import recommend

TODAY = date(2026, 11, 23)
TEN_MINUTES = [EXAMPLES / "desk-worker.yaml", ROOT / "tests" / "personas" / "chain3-stiff-neck.yaml"]


def _pages(pdf: bytes) -> list[str]:
    import pypdf

    return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _weasy(html: str, size: str) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=f"@page {{ size: {size} }}")])


def _assert_cards_whole(rec, pages: list[str]) -> None:
    """Each card's title and its caution are on the same page: no card is split."""
    for ex in rec.routine.exercises:
        title = " ".join(f"{ex.name}".split())
        careful = " ".join(ex.cautions[0].split())[:40]
        where = [i for i, text in enumerate(pages) if title in text and careful in text]
        assert where, f"{ex.name}: title and caution not on one page"


def _sheet(path: Path, minutes: int = 10):
    answers = load_answers(str(path)).model_copy(update={"minutes": minutes})
    from recommender.knowledge import load_knowledge

    rec = recommend(load_knowledge(), answers)
    return rec, render(rec, "html", today=TODAY)


@pytest.mark.parametrize("size", ["A4", "Letter"])
@pytest.mark.parametrize("path", TEN_MINUTES, ids=[p.stem for p in TEN_MINUTES])
def test_weasyprint_ten_minutes_fit_two_pages_with_no_card_split(path, size):
    rec, html = _sheet(path)
    pages = _pages(_weasy(html, size))
    assert 1 <= len(pages) <= 2
    _assert_cards_whole(rec, pages)
    assert "If it is not better by 7 December 2026" in pages[-1]


def test_pdf_format_through_the_cli(runner, tmp_path):
    from recommender.cli import cli

    out = tmp_path / "routine.pdf"
    result = runner.invoke(cli, ["recommend", str(EXAMPLES / "desk-worker.yaml"), "-f", "pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    text = " ".join(_pages(data))
    assert "Your stretching routine" in text and "Hip Flexor Stretch" in text


def test_urgent_sheet_is_the_referral_alone_with_what_to_tell_the_doctor():
    rec, html = _sheet(EXAMPLES / "red-flag.yaml")
    pages = _pages(_weasy(html, "A4"))
    assert len(pages) == 1
    assert "Get medical help today" in pages[0] and "What to tell the doctor" in pages[0]
    assert "numb between the legs" in pages[0]
    assert 'class="tracker"' not in html and 'class="card"' not in html  # no exercises, no tracker


def test_the_sheet_loads_nothing_from_outside():
    _, html = _sheet(EXAMPLES / "desk-worker.yaml")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html


def test_every_exercise_variant_has_a_figure(kb):
    from recommender.render import figure

    missing = [f"{e.id}--{v.id}" for e in kb.exercises.values() for v in e.variants if figure(e.id, v.id) is None]
    assert missing == []


# --------------------------------------------------------------------------- in a real browser


def _open(browser, html: str, tmp_path: Path):
    path = tmp_path / "sheet.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("file://") else None)
    page.goto(path.as_uri())
    return page, outside


@pytest.mark.parametrize("size", ["A4", "Letter"])
@pytest.mark.parametrize("path", TEN_MINUTES, ids=[p.stem for p in TEN_MINUTES])
def test_chromium_prints_ten_minutes_on_two_pages_with_no_card_split(browser, tmp_path, path, size):
    rec, html = _sheet(path)
    page, outside = _open(browser, html, tmp_path)
    pages = _pages(page.pdf(format=size, print_background=True))
    page.close()
    assert 1 <= len(pages) <= 2, f"{len(pages)} pages"
    _assert_cards_whole(rec, pages)
    assert outside == []


def test_chromium_screenshot_of_page_one(browser, tmp_path):
    _, html = _sheet(EXAMPLES / "desk-worker.yaml")
    page, outside = _open(browser, html, tmp_path)
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    target = ROOT / "docs" / "sheet-page1.png" if os.environ.get("STRETCHWISE_UPDATE_GOLDEN") else tmp_path / "p1.png"
    page.screenshot(path=str(target))
    page.close()
    assert target.stat().st_size > 10_000 and outside == []


def test_chromium_shows_a_hostile_name_as_text(browser, tmp_path):
    rec = recommend(__import__("recommender").load_knowledge(), person(name="<img src=x onerror=alert(1)>"))
    page, _ = _open(browser, render(rec, "html", today=TODAY), tmp_path)
    assert page.locator("img").count() == 0
    assert "<img src=x onerror=alert(1)>" in page.inner_text("header")
    page.close()
