"""What the sheet tells a person, as properties over every valid answers file (issue 15,
classes 7 and 8): each level's sheet says one thing, an empty routine is never
promised, a sheet with no routine carries no exercise clutter, the person never
reads a rule id, "Left out" names only what something called for, and every
caution and piece of advice reaches every format the person reads.
"""

from __future__ import annotations

import dataclasses
import html.parser
import io
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, answers_dicts, load_answers
from hypothesis import given

from recommender.answers import parse_answers
from recommender.engine import infer
from recommender.pipeline import explain, recommend
from recommender.render import render, render_explanation, sheet_context

TODAY = date(2026, 11, 23)
PERSON_FORMATS = ("text", "md", "html")


class _Text(html.parser.HTMLParser):
    """The words a reader sees on an HTML page (no markup, no style, entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script", "svg", "title")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script", "svg", "title")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _flat(text: str) -> str:
    return " ".join(text.split())


def read(out: str, fmt: str) -> str:
    """What a person reads in one output, as one line of plain words."""
    if fmt == "html":
        parser = _Text()
        parser.feed(out)
        return _flat(" ".join(parser.parts))
    if fmt == "md":
        return _flat(re.sub(r"\\(.)", r"\1", out))
    return _flat(out)


def outputs(rec) -> dict[str, str]:
    return {fmt: read(render(rec, fmt, today=TODAY), fmt) for fmt in PERSON_FORMATS}


def _recommend(kb, data):
    data = {k: v for k, v in data.items() if k != "name"}  # free text could spell anything
    answers = parse_answers(data, "generated")
    return answers, recommend(kb, answers)


@cache
def _equipment_reasons(kb) -> tuple[str, ...]:
    return tuple(r.because for r in kb.rules if r.then.exclude and r.then.exclude.equipment)


# --------------------------------------------------------------------------- class 8: the safety text


@given(answers_dicts)
def test_every_caution_and_every_advice_reaches_every_format(kb, data):
    _, rec = _recommend(kb, data)
    if rec.routine is None:
        return  # urgent or doctor_first: no exercises, no habits (below)
    texts = [c for ex in rec.routine.exercises for c in ex.cautions]
    texts += [a.title for a in rec.advice] + [a.text for a in rec.advice]
    for fmt, seen in outputs(rec).items():
        for text in texts:
            assert _flat(text) in seen, f"{fmt}: missing {text!r}"


PRINTED = [EXAMPLES / "desk-worker.yaml", EXAMPLES / "physio.json", *sorted((ROOT / "tests" / "personas").glob("*.yaml"))]


@pytest.mark.parametrize("path", PRINTED, ids=[p.stem for p in PRINTED])
def test_the_pdf_carries_every_caution_and_advice_and_a_10_minute_routine_fits_two_pages(kb, path):
    import pypdf

    rec = recommend(kb, load_answers(str(path)).model_copy(update={"minutes": 10}))
    pages = pypdf.PdfReader(io.BytesIO(render(rec, "pdf", today=TODAY))).pages
    # a line ends without a space in the extracted text: compare the words without spaces
    seen = "".join("".join(p.extract_text().split()) for p in pages)
    exercises = rec.routine.exercises if rec.routine else []
    for text in [c for ex in exercises for c in ex.cautions] + [a.text for a in rec.advice]:
        assert "".join(text.split()) in seen, f"missing from the PDF: {text!r}"
    assert len(pages) <= 2


# --------------------------------------------------------------------------- class 7: one message per level


@given(answers_dicts)
def test_no_physio_sheet_says_see_a_physical_therapist_if_it_is_not_better(kb, data):
    _, rec = _recommend(kb, data)
    for fmt, seen in outputs(rec).items():
        if rec.referral.level == "physio":
            assert "not better" not in seen.lower() and "does not settle" not in seen.lower(), fmt
        elif rec.referral.level == "self_care" and rec.routine.exercises:
            assert "If it is not better by 7 December 2026, see a physical therapist." in seen, fmt


@given(answers_dicts)
def test_no_output_promises_a_routine_it_does_not_hold(kb, data):
    _, rec = _recommend(kb, data)
    if rec.routine and rec.routine.exercises:
        return
    for fmt, seen in outputs(rec).items():
        low = seen.lower()
        assert not re.search(r"about \d+ (of your \d+ )?minutes", low), fmt
        for promise in ("routine below", "gentle routine", "your routine:", "two weeks: tick", "safety first"):
            assert promise not in low, (fmt, promise)
        if rec.referral.level == "physio":
            assert "there is nothing to do at home until a physical therapist has seen you" in low, fmt
        if rec.routine is None:
            assert "no exercises are given until a doctor has seen you" in low, fmt


@given(answers_dicts)
def test_a_sheet_without_a_routine_has_no_exercise_clutter(kb, data):
    """Urgent and doctor_first: no equipment, no stop rule, no left-out list, no habits."""
    answers, rec = _recommend(kb, data)
    if rec.routine is not None:
        return
    views = outputs(rec)
    views["explain"] = _flat(render_explanation(explain(kb, answers), "text"))
    for fmt, seen in views.items():
        assert "kettlebell" not in seen.lower(), fmt
        for because in _equipment_reasons(kb):
            assert because not in seen, (fmt, because)
        assert _flat(rec.stop_rule) not in seen, fmt
        assert "Left out" not in seen and "Habits that help" not in seen, fmt


@given(answers_dicts)
def test_the_stop_rule_stands_exactly_where_there_are_exercises(kb, data):
    _, rec = _recommend(kb, data)
    given_exercises = bool(rec.routine and rec.routine.exercises)
    for fmt, seen in outputs(rec).items():
        assert (_flat(rec.stop_rule) in seen) == given_exercises, fmt


@cache
def _ids(kb) -> re.Pattern[str]:
    names = sorted({r.id for r in kb.rules} | set(kb.sources), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")(?![\w-])")


@given(answers_dicts)
def test_the_person_never_reads_a_rule_id_or_a_source_tag(kb, data):
    answers, rec = _recommend(kb, data)
    views = {fmt: render(rec, fmt, today=TODAY) for fmt in PERSON_FORMATS}
    views["explain"] = render_explanation(explain(kb, answers), "text")
    for fmt, out in views.items():
        found = _ids(kb).search(out)
        assert found is None, f"{fmt}: {found and found.group(0)!r}"
        assert "source:" not in out, fmt


@given(answers_dicts)
def test_left_out_names_only_what_something_called_for(kb, data):
    answers, rec = _recommend(kb, data)
    called = {kb.exercises[f.then.indicate].name for f in infer(kb, answers).of_kind("indicate")}
    listed = {name for group in sheet_context(rec, TODAY)["left_out"] for name in group["names"]}
    assert listed <= called, f"left out but never called for: {sorted(listed - called)}"
    text = render(rec, "text", today=TODAY)
    if rec.routine is None or not listed:
        assert "\nLeft out\n" not in text


def test_a_physio_referral_with_every_exercise_excluded_says_so_plainly(kb):
    """The case from issue 15, whatever the knowledge gives today: a physio sheet holding no exercise."""
    rec = recommend(kb, load_answers(str(EXAMPLES / "physio.json")))
    assert rec.referral.level == "physio" and rec.routine is not None
    empty = dataclasses.replace(rec.routine, exercises=[], estimated_minutes=0)
    rec = dataclasses.replace(rec, routine=empty)
    for fmt, seen in outputs(rec).items():
        assert "This sheet gives you no exercises: there is nothing to do at home" in seen, fmt
        assert "minutes" not in seen and "Safety first" not in seen, fmt
    pdf = render(rec, "pdf", today=TODAY)
    assert pdf.startswith(b"%PDF")


PERSONAS = ROOT / "tests" / "personas"


def _persona(stem: str, **change) -> dict:
    import yaml

    data = yaml.safe_load((PERSONAS / f"{stem}.yaml").read_text(encoding="utf-8"))
    return {**data, **change}


@pytest.mark.parametrize("felt", ["none", "arm", "leg", "both"])
def test_a_physio_sheet_with_no_routine_says_when_to_get_help_today(kb, felt):
    """kb15-all-excluded: no routine means no stop rule, so the sheet names the signs that
    cannot wait for the appointment, in words that fit what the person already feels."""
    _, rec = _recommend(kb, _persona("kb15-all-excluded", numbness_or_tingling=felt))
    assert rec.referral.level == "physio" and rec.routine is not None and not rec.routine.exercises
    net = _flat(kb.meta.safety_net[felt])
    assert "get medical help today" in net
    if felt in ("leg", "both"):
        assert all(w in net for w in ("leg grows weak", "numbness spreads", "between your legs", "bladder or bowels"))
    if felt in ("arm", "both"):
        assert all(w in net for w in ("hand", "weak", "clumsy", "numbness spreads"))
    for fmt, seen in outputs(rec).items():
        assert net in seen, fmt
        for other, text in kb.meta.safety_net.items():
            assert other == felt or _flat(text) not in seen, (fmt, other)
    assert "safety_net" not in render(rec, "json", today=TODAY)  # the sheets' line, not the JSON contract
    # a sheet that gives a routine has its stop rule instead
    _, given = _recommend(kb, _persona("kb15-pregnancy"))
    assert given.routine and given.routine.exercises
    for fmt, seen in outputs(given).items():
        assert not any(_flat(t) in seen for t in kb.meta.safety_net.values()), fmt


def test_the_pregnancy_sheet_names_the_signs_for_the_maternity_unit(kb):
    """kb15-pregnancy: waves of pain or tightening, bleeding, fluid loss and a baby moving less
    send her to the maternity unit or midwife now, in every format; without pregnancy, never."""
    _, rec = _recommend(kb, _persona("kb15-pregnancy"))
    warning = [a for a in rec.advice if a.id == "pregnancy_warning_signs"]
    assert warning and kb.advice["pregnancy_warning_signs"].source == "acog-804"
    text = _flat(warning[0].text)
    for words in ("maternity unit", "midwife", "straight away", "waves", "belly going tight", "bleed", "fluid leaks", "moving less"):
        assert words in text, words
    for words in ("dizzy", "chest pain", "breathless", "calf"):  # ACOG's reasons to stop exercising
        assert words in text, words
    first = rec.routine.exercises[0].name
    for fmt, seen in outputs(rec).items():
        assert text in seen, fmt
        # a physiotherapist's review: the signs were filed under "Habits that help", after the cards
        assert seen.index(text) < seen.index(first), fmt
        assert "Habits that help" not in seen or seen.index(text) < seen.index("Habits that help"), fmt
    _, other = _recommend(kb, _persona("kb15-pregnancy", conditions=[]))
    assert all(a.id != "pregnancy_warning_signs" for a in other.advice)


@given(answers_dicts)
def test_signs_that_cannot_wait_come_before_the_routine_and_never_among_the_habits(kb, data):
    _, rec = _recommend(kb, data)
    urgent = [_flat(a.text) for a in rec.advice if a.kind == "when_to_get_help"]
    assert all(kb.advice[a.id].kind == a.kind and kb.advice[a.id].short is None for a in rec.advice if a.kind != "habit")
    if not urgent or not (rec.routine and rec.routine.exercises):
        return
    first = rec.routine.exercises[0].name
    for fmt, seen in outputs(rec).items():
        habits = seen.find("Habits that help")
        for text in urgent:
            assert seen.index(text) < seen.index(first), fmt
            assert habits < 0 or seen.index(text) < habits, fmt


@given(answers_dicts)
def test_only_a_format_that_prints_the_tracker_mentions_it(kb, data):
    """The text and Markdown outputs have no tracker, so they never ask for "the filled-in tracker"
    (a physiotherapist's reading of the sheets); the printable sheet has one."""
    rec = recommend(kb, parse_answers(data, "generated"))
    for fmt in ("text", "md"):
        assert "tracker" not in str(render(rec, fmt)).lower(), fmt
    if rec.routine is not None and rec.routine.exercises:
        assert "tracker" in str(render(rec, "html")).lower()
