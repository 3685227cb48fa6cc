"""The words a person reads: a referral says what to do once and nothing else, the
wording of a choice is the same wherever it appears, and a misspelled field is named
with the field meant."""

from __future__ import annotations

import re

from click.testing import CliRunner
from conftest import answers_dicts
from hypothesis import assume, given

from recommender.answers import parse_answers
from recommender.cli import cli
from recommender.pipeline import recommend
from recommender.render import render


@given(answers_dicts)
def test_a_referral_without_a_routine_says_what_to_do_once_and_nothing_else(kb, data):
    rec = recommend(kb, parse_answers(data, "generated"))
    assume(rec.routine is None)
    level = kb.meta.levels[rec.referral.level]
    for fmt, headline in (("text", level.headline.upper()), ("md", f"# {level.headline}")):
        out = str(render(rec, fmt))
        assert [line for line in out.splitlines() if line.strip() == headline] == [headline], fmt
        assert not any(re.search(rf"\b{re.escape(r.id)}\b", out) for r in kb.rules), fmt  # no rule ids
        assert not any(rule in out for rule in kb.meta.stop_rule.values()), fmt  # no exercise stop rule
        assert "You did not list" not in out and "have at home" not in out, fmt  # no equipment lines


def test_equipment_is_named_as_the_question_shows_it(kb):
    """The left-out reason names a piece of equipment with the question's own label."""
    labels = {c.value: c.label for q in kb.questions if q.id == "equipment" for c in q.choices}
    for rule in kb.rules:
        excluded = (rule.then.exclude.equipment or []) if rule.then.exclude else []
        for item in excluded:
            assert labels[item].lower() in rule.because.lower(), (rule.id, labels[item], rule.because)


def test_a_misspelled_field_is_named_with_the_field_meant(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("version: 1\nareas: [neck]\npain: 3\nduration_weeks: 2\nred_flags: []\nsiting_hours: 8\n")
    result = CliRunner().invoke(cli, ["recommend", str(path)])
    assert result.exit_code == 2
    assert f"{path}: siting_hours: is not a known field; did you mean 'sitting_hours'?" in result.output
    assert "Traceback" not in result.output


def test_a_field_like_no_other_gets_no_guess(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("version: 1\nareas: [neck]\npain: 3\nduration_weeks: 2\nred_flags: []\nzzz: 8\n")
    result = CliRunner().invoke(cli, ["recommend", str(path)])
    assert result.exit_code == 2 and "zzz: is not a known field" in result.output
    assert "did you mean" not in result.output


@given(answers_dicts)
def test_the_printable_sheet_of_a_referral_says_its_headline_once(kb, data):
    rec = recommend(kb, parse_answers(data, "generated"))
    assume(rec.routine is None)
    html = str(render(rec, "html"))
    headings = re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", html, flags=re.S)
    level = kb.meta.levels[rec.referral.level]
    assert [h for h in headings if h.strip() == level.headline] == [level.headline]
