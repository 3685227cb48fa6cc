"""The review personas (issues 15 and 16): each one's printed sheet against a golden file.

The personas are tests/personas/kb15-*.yaml and kb16-*.yaml; each file opens with who
the person is and what a physiotherapist would expect. docs/review-personas.md reads
their sheets before and after the knowledge-base work.

When the knowledge or the templates change on purpose, refresh the golden files with:

    STRETCHWISE_UPDATE_GOLDEN=1 pytest tests/test_personas.py

and read the diff as a clinician would before committing it.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from conftest import load_answers

from recommender.pipeline import recommend
from recommender.render import render

HERE = Path(__file__).resolve().parent
PERSONAS = sorted((HERE / "personas").glob("kb1[56]-*.yaml"))
GOLDEN = HERE / "golden" / "personas"
TODAY = date(2026, 11, 23)


def test_the_review_personas_are_all_here():
    assert len([p for p in PERSONAS if p.name.startswith("kb15-")]) == 12
    assert len([p for p in PERSONAS if p.name.startswith("kb16-")]) == 8


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.stem for p in PERSONAS])
def test_persona_sheet_matches_golden_file(kb, persona):
    out = render(recommend(kb, load_answers(str(persona))), "text", today=TODAY)
    golden = GOLDEN / f"{persona.stem}.txt"
    if os.environ.get("STRETCHWISE_UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with STRETCHWISE_UPDATE_GOLDEN=1"
    assert out == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.stem for p in PERSONAS])
def test_persona_file_opens_with_who_and_what_a_physio_expects(persona):
    first = persona.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and len(first) > 20
