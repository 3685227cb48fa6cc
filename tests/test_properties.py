"""Safety and contract properties over all valid answers (hypothesis).

CI runs the "ci" profile (200 examples per property); `pytest -m deep
--hypothesis-profile=deep` runs 100,000.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import pytest
from conftest import answers_dicts, condition_holds
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.answers import field_choices, parse_answers
from recommender.derivation import leaves
from recommender.content import LEVELS
from recommender.render import render_json
from recommender.pipeline import recommend


@cache
def _validator():
    """The output schema as the installed package ships it."""
    import jsonschema

    schema = resources.files("recommender").joinpath("schemas", "recommendation.schema.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(schema))


def _recommend(kb, data):
    answers = parse_answers(data, "generated")
    return answers, recommend(kb, answers)


@given(answers_dicts)
def test_a_red_flag_never_yields_a_routine(kb, data):
    _, rec = _recommend(kb, data)
    if data["red_flags"]:
        assert rec.routine is None
        assert rec.referral.level in ("urgent", "doctor_first")


@given(answers_dicts)
def test_nothing_an_answer_rules_out_is_recommended(kb, data):
    """Checked against the rules evaluated in plain Python, not against the engine's record."""
    answers, rec = _recommend(kb, data)
    if rec.routine is None:
        return
    values = answers.model_dump(mode="json")
    active = [r for r in kb.rules if r.then.exclude and all(condition_holds(c, values) is True for c in r.when)]
    for chosen in rec.routine.exercises:
        ex = kb.exercises[chosen.id]
        variant = next(v for v in ex.variants if v.id == chosen.variant)
        props = ex.properties(variant)
        for rule in active:
            assert not rule.then.exclude.matches(props), f"{chosen.id}/{variant.id} despite {rule.id}"
        assert set(variant.equipment) <= set(answers.equipment)


@given(answers_dicts)
def test_the_routine_fits_the_time_budget(kb, data):
    answers, rec = _recommend(kb, data)
    if rec.routine is not None:
        assert rec.routine.estimated_minutes <= answers.minutes
        assert sum(e.seconds for e in rec.routine.exercises) <= answers.minutes * 60


@given(answers_dicts)
def test_the_minutes_a_dropped_exercise_needs_are_exact(kb, data):
    answers, rec = _recommend(kb, data)
    dropped = [n for n in rec.not_chosen if n.reason == "time_budget"]
    if not dropped or "about" not in dropped[0].detail:
        return
    need = int(dropped[0].detail.split("about ")[1].split()[0])
    assert need > answers.minutes
    _, more = _recommend(kb, {**data, "minutes": need})
    assert dropped[0].id in {e.id for e in more.routine.exercises}
    if need - 1 > answers.minutes:
        _, less = _recommend(kb, {**data, "minutes": need - 1})
        assert dropped[0].id not in {e.id for e in less.routine.exercises}


@given(answers_dicts)
def test_json_output_validates_against_the_shipped_schema(kb, data):
    _, rec = _recommend(kb, data)
    errors = sorted(_validator().iter_errors(json.loads(render_json(rec))), key=str)
    assert not errors, errors[0]


@given(answers_dicts)
def test_same_answers_same_output(kb, data):
    _, first = _recommend(kb, data)
    _, second = _recommend(kb, data)
    assert render_json(first) == render_json(second)


@given(answers_dicts)
def test_referrals_say_why_and_every_why_rests_on_the_given_answers(kb, data):
    answers, rec = _recommend(kb, data)
    values = answers.model_dump(mode="json")
    if rec.referral.level != "self_care":
        assert rec.referral.reasons and all(r.message for r in rec.referral.reasons)
    nodes = [r.why for r in rec.referral.reasons] + [f.why for f in rec.findings]
    nodes += [e.why for e in rec.routine.exercises] if rec.routine else []
    for node in nodes:
        for leaf in leaves(node):
            assert leaf["value"] == values[leaf["answer"]]


RISKS = (
    [("red_flags", f) for f in field_choices("red_flags")]
    + [("conditions", c) for c in field_choices("conditions")]
    + [("worse_with", w) for w in field_choices("worse_with")]
)


@given(answers_dicts, st.sampled_from(RISKS))
def test_adding_a_risk_never_lowers_the_referral(kb, data, risk):
    field, value = risk
    _, before = _recommend(kb, data)
    more = dict(data)
    more[field] = sorted(set(data.get(field, [])) | {value})
    _, after = _recommend(kb, more)
    assert LEVELS.index(after.referral.level) >= LEVELS.index(before.referral.level)


@pytest.mark.deep
@settings(settings.get_profile("deep"))
@given(answers_dicts)
def test_deep_safety(kb, data):
    """All the safety properties at once, for the deep profile."""
    test_a_red_flag_never_yields_a_routine.hypothesis.inner_test(kb, data)
    test_nothing_an_answer_rules_out_is_recommended.hypothesis.inner_test(kb, data)
    test_the_routine_fits_the_time_budget.hypothesis.inner_test(kb, data)
