"""Rendered output against golden files, one per bundled example and format.

When templates or knowledge change on purpose, refresh them with:

    STRETCHWISE_UPDATE_GOLDEN=1 pytest tests/test_render.py

and read the diff before committing it.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from conftest import EXAMPLES, person

from conftest import load_answers
from recommender.render import RENDERERS, render, why_line
from recommender.pipeline import recommend

GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLE_FILES = [EXAMPLES / "desk-worker.yaml", EXAMPLES / "physio.json", EXAMPLES / "red-flag.yaml"]
SUFFIX = {"json": "json", "text": "txt", "html": "html", "md": "md"}  # pdf: tests/test_sheet.py
TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_output_matches_golden_file(kb, example, fmt):
    out = render(recommend(kb, load_answers(str(example))), fmt, today=TODAY)
    golden = GOLDEN / f"{example.stem}.{SUFFIX[fmt]}"
    if os.environ.get("STRETCHWISE_UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with STRETCHWISE_UPDATE_GOLDEN=1"
    assert out == golden.read_text(encoding="utf-8")


def test_every_format_has_a_golden_file_or_its_own_test():
    assert set(SUFFIX) | {"pdf"} == set(RENDERERS)


def test_text_shows_the_name_verbatim_and_no_markup_is_interpreted(kb):
    rec = recommend(kb, person(name="<b>Jo</b> & Co"))
    assert "routine for <b>Jo</b> & Co" in render(rec, "text")


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_a_name_never_reaches_the_sheet_as_markup(kb, fmt):
    rec = recommend(kb, person(name="<script>alert('x')</script>", sitting_hours=9))
    out = render(rec, fmt, today=TODAY)
    assert "<script>" not in out
    assert ("&lt;script&gt;" if fmt == "html" else "\\<script\\>") in out


def test_why_line_names_the_top_findings_then_the_answers_and_no_chain(kb):
    rec = recommend(kb, person(sitting_hours=9, minutes=60))
    hip = next(e for e in rec.routine.exercises if e.id == "hip_flexor_stretch")
    line = why_line(hip.why)
    assert line.startswith("low back pain that starts at the hips")
    assert line.endswith("(you sit about 9 hours a day; your low back hurts)")
    assert "←" not in line and "the pelvis tipped forward" not in line  # a middle link is explain's
