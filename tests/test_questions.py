"""The question definitions: the check against the answers model, the skip logic, reply parsing."""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml
from hypothesis import given, settings

from recommender.answers import CHECK_IN_FIELDS, Answers, field_choices, parse_answers
from recommender.checks import run_checks
from recommender.knowledge import load_knowledge
from recommender.checks.questions import answers_table, check_questions
from recommender.conditions import holds
from recommender.questions import Invalid, Step, answers_so_far, next_step, steps_ahead
from recommender.pipeline import recommend

from conftest import BASE, ROOT, answers_dicts

DEFAULTS = {n: f.default for n, f in Answers.model_fields.items() if not f.is_required() and n != "version"}


def walk(kb: Any, data: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Answer every step asked from ``data`` (defaults elsewhere); the step keys asked, and the answers."""
    given_: dict[str, Any] = {}
    keys = []
    while (step := next_step(kb.questions, given_)) is not None:
        q = step.question
        if step.item is not None:
            value = step.item.value in data.get(q.id, [])
        else:
            value = data.get(q.id, q.default)
            if isinstance(value, list):  # a choice not offered here cannot be given
                value = [v for v in value if v in {c.value for c in step.choices}]
        given_[step.key] = step.accept(value)
        keys.append(step.key)
    return keys, answers_so_far(kb.questions, given_)


def test_the_bundled_questions_cover_the_answers_format(kb):
    assert check_questions(kb) == []
    assert [q.id for q in kb.questions].count("red_flags") == 1
    # the check-in fields are asked only on a follow-up visit (issue 20), not among these
    assert {q.id for q in kb.questions} == set(Answers.model_fields) - {"version", *CHECK_IN_FIELDS}


def test_safety_comes_before_anything_about_exercise(kb):
    sections = [q.section for q in kb.questions]
    first_other = next(i for i, s in enumerate(sections) if s not in ("pain", "safety"))
    assert "safety" not in sections[first_other:]
    assert sections.index("safety") <= 3  # after where, how bad, how long


# ---------------------------------------------------------------- check finds mistakes


def _broken(kb_copy, change) -> list[str]:
    path = kb_copy / "content" / "questions.yaml"
    data = yaml.safe_load(path.read_text())
    change({q["id"]: q for q in data["questions"]}, data["questions"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return [str(p) for p in run_checks(load_knowledge(kb_copy)) if p.severity == "error"]


def test_check_finds_a_field_without_a_question(kb_copy):
    problems = _broken(kb_copy, lambda qs, lst: lst.remove(qs["sleeps_on_stomach"]))
    assert any("'sleeps_on_stomach' has no question" in p for p in problems)


def test_check_finds_a_question_for_an_unknown_field(kb_copy):
    def change(qs, lst):
        lst.append({**qs["sleeps_on_stomach"], "id": "snores"})

    assert any("question 'snores': not a field of the answers format" in p for p in _broken(kb_copy, change))


def test_check_finds_choices_that_differ_from_the_model(kb_copy):
    def change(qs, lst):
        qs["stress"]["choices"][2]["value"] = "severe"

    problems = _broken(kb_copy, change)
    assert any("'stress': choices differ" in p and "missing high" in p and "severe" in p for p in problems)


def test_check_finds_number_bounds_that_differ_from_the_model(kb_copy):
    def change(qs, lst):
        qs["pain"]["max"] = 100

    assert any("'pain': min/max 0..100" in p and "0..10" in p for p in _broken(kb_copy, change))


def test_check_finds_ask_when_on_a_later_answer(kb_copy):
    def change(qs, lst):
        qs["stress"]["ask_when"] = [{"answer": "floor_ok", "is": True}]

    assert any(
        "'stress': ask_when tests 'floor_ok', which is not asked before it" in p
        for p in _broken(kb_copy, change)
    )


def test_check_finds_a_red_flag_asked_after_a_less_urgent_one(kb_copy):
    def change(qs, lst):
        items = qs["red_flags"]["choices"]
        items.append(items.pop(0))  # saddle numbness (urgent) last

    assert any("'saddle_numbness' (urgent) is asked after" in p for p in _broken(kb_copy, change))


def test_check_finds_a_default_on_a_required_field(kb_copy):
    def change(qs, lst):
        qs["pain"]["default"] = 0

    assert any("'pain': a required field has no default" in p for p in _broken(kb_copy, change))


def test_loading_names_the_question_and_field(kb_copy):
    from recommender.errors import KnowledgeError

    path = kb_copy / "content" / "questions.yaml"
    path.write_text(path.read_text().replace("type: yes_no", "type: yes_or_no", 1))
    with pytest.raises(KnowledgeError, match=r"questions.yaml: question '\w+': type"):
        load_knowledge(kb_copy)


# ---------------------------------------------------------------- skip logic


def test_nothing_about_turning_the_head_when_only_the_low_back_hurts(kb):
    keys, _ = walk(kb, {**BASE, "areas": ["low_back"]})
    assert "stiff_to_turn_head" not in keys
    given_ = {k: v for k, v in [("areas", ["low_back"]), ("pain", 3), ("duration_weeks", 2)]}
    given_.update({f"red_flags:{c}": False for c in field_choices("red_flags")})
    given_.update({"conditions": [], "numbness_or_tingling": "none"})
    step = next_step(kb.questions, given_)
    assert step.key == "worse_with" and "turning_head" not in {c.value for c in step.choices}


def test_neck_pain_is_asked_about_turning_the_head(kb):
    keys, _ = walk(kb, {**BASE, "areas": ["neck"]})
    assert "stiff_to_turn_head" in keys


def test_no_kneeling_question_for_someone_who_cannot_get_to_the_floor(kb):
    assert "kneeling_hurts" not in walk(kb, {**BASE, "floor_ok": False})[0]
    assert "kneeling_hurts" in walk(kb, {**BASE, "floor_ok": True})[0]


def test_home_care_is_asked_only_after_six_weeks(kb):
    assert "home_care_not_helping" not in walk(kb, {**BASE, "duration_weeks": 5})[0]
    assert "home_care_not_helping" in walk(kb, {**BASE, "duration_weeks": 6})[0]


def test_each_red_flag_is_its_own_step_most_urgent_first(kb):
    keys, answers = walk(kb, BASE)
    flags = [k.split(":")[1] for k in keys if k.startswith("red_flags:")]
    assert flags[:3] == ["saddle_numbness", "bladder_bowel_change", "progressive_weakness"]
    assert len(flags) == 13 and answers["red_flags"] == []


def _outcome(kb, data):
    rec = recommend(kb, parse_answers(data, "test"))
    exercises = None if rec.routine is None else [(e.id, e.variant) for e in rec.routine.exercises]
    return rec.referral.level, exercises


#: Skipped because the answer cannot apply, not because it would not matter:
#: home care "for six weeks or more" cannot have failed within six weeks.
CANNOT_APPLY = {"home_care_not_helping"}


@settings(max_examples=60)
@given(answers_dicts)
def test_a_skipped_question_would_not_change_the_referral_or_the_routine(kb, data):
    seen = {**DEFAULTS, **data}
    for q in kb.questions:
        if q.id in CANNOT_APPLY or all(holds(c, seen) for c in q.ask_when):
            continue
        assert _outcome(kb, {**data, q.id: q.default}) == _outcome(kb, data), q.id


@settings(max_examples=60)
@given(answers_dicts)
def test_walking_the_questions_gives_valid_answers(kb, data):
    _keys, answers = walk(kb, data)
    person = parse_answers(answers, "walk")
    # list answers are read in the format's own order, whatever order they were given in
    assert person == parse_answers({**answers, **{f: data[f] for f in ("areas", "pain", "duration_weeks", "red_flags")}}, "given")


# ---------------------------------------------------------------- replies


def _step(kb, **given_):
    return next_step(kb.questions, given_)


def test_replies_by_number_or_by_name(kb):
    step = _step(kb)
    assert step.key == "areas"
    assert step.parse("1 4") == ["neck", "low_back"]
    assert step.parse("low_back, neck") == ["low_back", "neck"]
    assert step.parse("4 4") == ["low_back"]
    # the shown labels too, whole or their head before a comma, in any case
    assert step.parse("Upper back, between the shoulder blades") == ["upper_back"]
    assert step.parse("neck, low back") == ["neck", "low_back"]
    assert step.parse("Upper back, neck") == ["upper_back", "neck"]
    with pytest.raises(Invalid, match="not one of the choices: type its number \\(1 to 4\\)"):
        step.parse("5")
    with pytest.raises(Invalid, match="'shoulders' is not one of the choices"):
        step.parse("shoulders")
    with pytest.raises(Invalid, match="needs an answer"):
        step.parse("  ")
    with pytest.raises(Invalid, match="at least one"):
        step.parse("none")


def test_a_choice_can_be_typed_as_it_is_shown(kb):
    """Every choice of every question is accepted by its label as shown, and by its id."""
    for q in kb.questions:
        if q.type not in ("one_of", "any_of"):
            continue
        step = Step(q, None, tuple(q.choices))
        for c in q.choices:
            want = c.value if q.type == "one_of" else [c.value]
            assert step.parse(c.label) == want, (q.id, c.label)
            assert step.parse(c.label.upper() + ".") == want, (q.id, c.label)
            assert step.parse(c.value) == want, (q.id, c.value)
    worse = next(q for q in kb.questions if q.id == "worse_with")
    assert Step(worse, None, tuple(worse.choices)).parse("turning head") == ["turning_head"]


def test_the_count_of_questions_follows_the_flow(kb):
    """The count said at the start and beside each question is the number of steps a run
    really takes when the replies are the usual ones."""
    first = steps_ahead(kb.questions, {})  # the count said at the start
    for areas in (["neck"], ["low_back"], ["upper_back", "mid_back"]):
        given: dict[str, Any] = {"areas": areas}
        predictions = []
        while (step := next_step(kb.questions, given)) is not None:
            predictions.append(len(given) + steps_ahead(kb.questions, given))
            given[step.key] = _usual(step)
        # exact once the replies that decide the flow are in, and never off by more than one before
        # exact once the replies that decide the flow are in, and off by at most two before
        assert predictions[-1] == len(given), (areas, predictions)
        assert all(abs(p - len(given)) <= 2 for p in [first, *predictions]), (areas, first, predictions)


def _usual(step):
    q = step.question
    if step.item is not None:
        return False
    if q.has_default:
        return q.default
    if q.type in ("number", "text"):
        return 5 if q.type == "number" else ""
    return [step.choices[0].value] if q.type == "any_of" else step.choices[0].value


def test_number_replies_are_checked_against_the_range(kb):
    step = _step(kb, areas=["neck"])
    assert step.key == "pain" and step.parse(" 7 ") == 7
    for bad, reason in [
        ("eleven", "whole number from 0 to 10"),
        ("11", "from 0 to 10"),
        ("2.5", "whole number"),
    ]:
        with pytest.raises(Invalid, match=reason):
            step.parse(bad)


def test_enter_takes_the_default(kb):
    q = next(q for q in kb.questions if q.id == "minutes")
    from recommender.questions import Step

    step = Step(q, None, ())
    assert step.parse("", q.default, True) == 10 and step.hint() == "5-60" and step.show(10) == "10"


def test_a_red_flag_item_needs_an_explicit_answer(kb):
    given_ = {"areas": ["neck"], "pain": 3, "duration_weeks": 1}
    step = next_step(kb.questions, given_)
    assert step.key == "red_flags:saddle_numbness" and step.first_item
    assert not step.has_default
    with pytest.raises(Invalid, match="needs an answer"):
        step.parse("")
    assert step.parse("Y") is True and step.parse("no") is False


# ---------------------------------------------------------------- the README


def test_the_readme_answers_table_is_made_from_the_questions(kb):
    """Between its markers, the README's answers table is exactly what the questions say.

    Refresh it with STRETCHWISE_UPDATE_GOLDEN=1, then read the diff.
    """
    readme = ROOT / "README.md"
    start, end = "<!-- answers-table -->\n", "<!-- /answers-table -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        pytest.skip("README.md has no answers-table markers yet")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    made = answers_table(kb.questions)
    if os.environ.get("STRETCHWISE_UPDATE_GOLDEN"):
        readme.write_text(head + start + made + end + tail, encoding="utf-8")
    assert rest.split(end, 1)[0] == made


def test_the_answers_table_covers_every_field(kb):
    table = answers_table(kb.questions)
    for name in set(Answers.model_fields) - set(CHECK_IN_FIELDS):  # the check-in: README, follow-up visits
        assert f"| `{name}` |" in table
    assert "*Asked when floor_ok is true.*" in table
