"""A clinician's plan (issue 21): the error table, the safety properties, the sheet and the audit.

Golden files live in tests/golden/plans/; refresh them with
STRETCHWISE_UPDATE_GOLDEN=1 pytest tests/test_plan.py and read the diff.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, ROOT, answers_dicts, condition_holds, load_answers, person
from hypothesis import given
from hypothesis import strategies as st

from recommender.answers import parse_answers
from recommender.cli import cli
from recommender.content import LEVELS, Dose
from recommender.errors import PlanError
from recommender.knowledge import load_knowledge
from recommender.pipeline import explain, recommend
from recommender.plan import DoseChange, parse_plan, plan_schema, protected
from recommender.reader import read_plan
from recommender.render import render, render_explanation

GOLDEN = Path(__file__).resolve().parent / "golden" / "plans"
PLANS = EXAMPLES / "plans"
TODAY = date(2026, 11, 23)
#: A doctor's assessment two days ago: a clear must be dated since the pain began, and the
#: tests run on any day, so the day is relative to today.
SEEN = date.today() - timedelta(days=2)
SEEN_WORDS = f"{SEEN.day} {SEEN:%B %Y}"
#: The two adjusted routines: the answers, and the plan a physical therapist wrote for them.
ADJUSTED = {"desk-worker": EXAMPLES / "desk-worker.yaml", "physio": EXAMPLES / "physio.json"}
KB = load_knowledge()


def _plan(text: str, kb=KB):
    return read_plan(text, "plan.yaml", kb)


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("fmt", ["text", "html"])  # the JSON: the schema and the tests below
@pytest.mark.parametrize("name", sorted(ADJUSTED))
def test_the_sheet_of_an_adjusted_routine_matches_its_golden_file(kb, name, fmt):
    plan = read_plan((PLANS / f"{name}.yaml").read_bytes(), f"examples/plans/{name}.yaml", kb)
    out = render(recommend(kb, load_answers(str(ADJUSTED[name])), plan), fmt, today=TODAY)
    _golden(f"{name}.{ {'text': 'txt'}.get(fmt, fmt) }", out)


@pytest.mark.parametrize("fmt", ["text", "md"])
@pytest.mark.parametrize("name", sorted(ADJUSTED))
def test_the_audit_view_of_an_adjusted_routine_matches_its_golden_file(kb, name, fmt):
    plan = read_plan((PLANS / f"{name}.yaml").read_bytes(), f"examples/plans/{name}.yaml", kb)
    view = explain(kb, load_answers(str(ADJUSTED[name])), clinician=True, plan=plan)
    _golden(f"{name}.clinician.{ {'text': 'txt'}.get(fmt, fmt) }", render_explanation(view, fmt))


def _golden(filename: str, out: str) -> None:
    golden = GOLDEN / filename
    if os.environ.get("STRETCHWISE_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with STRETCHWISE_UPDATE_GOLDEN=1"
    assert out == golden.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- what the sheet and audit say


def test_the_sheet_names_the_clinician_and_each_changed_card_its_reason(kb):
    plan = _plan((PLANS / "desk-worker.yaml").read_text())
    rec = recommend(kb, load_answers(str(EXAMPLES / "desk-worker.yaml")), plan)
    text = render(rec, "text", today=TODAY)
    assert "Adjusted by Ana Ruiz, PT" in text.split("SAFE TO START")[0]  # at the top
    cards = {c.split("\n")[0]: c for c in text.split("\n\n") if c[:2].rstrip(".").isdigit()}
    changed = {
        title.split(".")[1].split("(")[0].strip()
        for title, card in cards.items()
        if "changed by your clinician" in card
    }
    assert changed == {"Pelvic Tilt", "Shoulder Shrugs and Rolls", "Hip Flexor Stretch"}
    assert "Scalene Stretch: Taken out by your clinician: brings on tingling" in " ".join(text.split())
    assert [e.id for e in rec.routine.exercises].count("scalene_stretch") == 0


def test_the_audit_lists_the_rules_choice_then_each_adjustment_in_order(kb):
    plan = _plan((PLANS / "physio.yaml").read_text())
    rules = recommend(kb, load_answers(str(EXAMPLES / "physio.json")))
    view = explain(kb, load_answers(str(EXAMPLES / "physio.json")), clinician=True, plan=plan)
    assert [e["id"] for e in view["plan"]["rules_choice"]] == [e.id for e in rules.routine.exercises]
    assert [(a["action"], a["reason"]) for a in view["plan"]["adjustments"]] == [
        ("remove", plan.remove[0].reason),
        ("override", plan.override[0].reason),
        ("dose", plan.dose[0].reason),
    ]
    text = render_explanation(view, "text")
    assert text.index("The rules' choice") < text.index("Adjustments, in order")
    override = view["plan"]["adjustments"][1]
    assert override["rule"] == "worse-bending-forward-no-flexion" and override["applied"]


def test_a_cleared_doctor_first_referral_still_prints_with_who_cleared_it_and_why(kb):
    helen = load_answers(str(ROOT / "tests" / "personas" / "kb15-doctor-first.yaml"))
    plan = _plan(
        'version: 1\nclinician: "Ana Ruiz, PT"\n'
        f'clear: {{level: doctor_first, assessed_by: "Dr Lee, GP", assessed_on: {SEEN}, reason: "examined; scans clear"}}\n'
    )
    before, after = recommend(kb, helen), recommend(kb, helen, plan)
    assert before.routine is None and after.routine is not None
    assert after.referral.level == "physio"  # still in a clinician's care
    assert [r.rule for r in after.referral.reasons] == [r.rule for r in before.referral.reasons]
    for fmt in ("text", "md", "html"):
        out = " ".join(render(after, fmt, today=TODAY).split())
        assert f"cleared by Ana Ruiz, PT after Dr Lee, GP assessed you on {SEEN_WORDS}: examined; scans clear" in out
        assert f"Dr Lee, GP assessed the reasons below on {SEEN_WORDS}, and Ana Ruiz, PT has cleared you to start" in out
        assert "CLEARED TO START" in out.upper() and "SEE A PHYSICAL THERAPIST" not in out.upper()
        assert "same day if an arm or a leg gets weak" in out
        assert "without seeing a doctor" not in out
        for reason in before.referral.reasons:
            assert reason.message.split(".")[0] in out
    audit = explain(kb, helen, clinician=True, plan=plan)["referral"]["headline"]  # review 3: it said "See a physical therapist"
    assert audit == f"See a doctor first, cleared by Ana Ruiz, PT after Dr Lee, GP assessed the person on {SEEN}"


def test_clearing_a_referral_lifts_no_exclusion(kb):
    """Osteoporosis and trauma: the doctor-first referral is cleared, the bone-safe exclusions stay."""
    answers = person(
        age=70,
        conditions=["osteoporosis"],
        red_flags=["trauma"],
        areas=["low_back", "upper_back"],
        minutes=30,
    )
    plan = _plan(f'version: 1\nclinician: "A, PT"\nclear: {{level: doctor_first, assessed_by: "Dr B, GP", assessed_on: {SEEN}, reason: "x-ray clear"}}\n')
    rec = recommend(kb, answers, plan)
    assert rec.routine is not None and rec.routine.exercises
    _assert_nothing_excluded_without_override(kb, answers, rec, plan)


def test_an_urgent_referral_stands_and_the_plan_changes_nothing(kb):
    answers = person(red_flags=["saddle_numbness"])
    plan = _plan(
        'version: 1\nclinician: "A, PT"\nclear: {level: doctor_first, assessed_by: "Dr A, GP", assessed_on: 2026-11-02, reason: "seen"}\n'
        "add: [{exercise: pelvic_tilt, reason: gentle}]\n"
    )
    rec = recommend(kb, answers, plan)
    assert rec.referral.level == "urgent" and rec.routine is None
    assert rec.adjustments and not any(a.applied for a in rec.adjustments)
    text = render(rec, "text", today=TODAY)
    assert "Adjusted by" not in text and "is on hold: do what this sheet says first" in text


def test_additions_beyond_the_time_say_so_and_are_not_dropped(kb):
    answers = load_answers(str(EXAMPLES / "desk-worker.yaml"))
    adds = ["pelvic_tilt", "shrugs_and_rolls", "cervical_rotation", "forward_backward_tilt"]
    plan = _plan(
        "version: 1\nclinician: A\nadd:\n" + "".join(f"  - {{exercise: {a}, reason: wanted}}\n" for a in adds)
    )
    rec = recommend(kb, answers, plan)
    assert set(adds) <= {e.id for e in rec.routine.exercises}
    used = sum(e.seconds for e in rec.routine.exercises)
    assert used > answers.minutes * 60
    assert (
        f"takes about {rec.routine.estimated_minutes} minutes, more than the 10 you set aside"
        in rec.routine.note
    )
    assert rec.routine.note in " ".join(render(rec, "text", today=TODAY).split())


def test_a_dose_change_stays_within_the_librarys_own_bounds():
    for name in ("hold_seconds", "reps", "sets"):
        ours = {type(m).__name__: m for m in DoseChange.model_fields[name].metadata}
        library = {type(m).__name__: m for m in Dose.model_fields[name].metadata}
        assert ours == library, name


def test_the_schema_command_prints_the_plan_schema(runner):
    result = runner.invoke(cli, ["schema", "--plan"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == plan_schema()
    assert set(schema["properties"]) == {
        "version",
        "clinician",
        "note",
        "remove",
        "add",
        "dose",
        "override",
        "clear",
    }


def test_every_example_plan_validates_against_the_schema_it_prints():
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(plan_schema())
    for path in sorted(PLANS.glob("*.yaml")):
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path.name


def test_adjust_on_the_command_line(runner):
    args = ["recommend", str(EXAMPLES / "physio.json"), "--adjust", str(PLANS / "physio.yaml"), "-f", "json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["adjusted_by"]["clinician"] == "Sam Okafor, PT"
    assert "hip_hinge" in [e["id"] for e in out["routine"]["exercises"]]
    plan = yaml.safe_load((PLANS / "physio.yaml").read_text())
    assert [(a["action"], a["exercise"], a["rule"], a["reason"], a["applied"]) for a in out["adjustments"]] == [
        ("remove", "bodyweight_squat", None, plan["remove"][0]["reason"], True),
        ("override", "hip_hinge", "worse-bending-forward-no-flexion", plan["override"][0]["reason"], True),
        ("dose", "hip_flexor_stretch", None, plan["dose"][0]["reason"], True),
    ]
    assert {"id": "bodyweight_squat", "reason": "removed"}.items() <= out["not_chosen"][0].items()
    plain = json.loads(runner.invoke(cli, args[:2] + ["-f", "json"]).stdout)
    assert (
        "adjustments" not in plain and "adjusted_by" not in plain
    )  # the contract without a plan is unchanged


# --------------------------------------------------------------------------- the error table

PHYSIO = str(EXAMPLES / "physio.json")
DESK = str(EXAMPLES / "desk-worker.yaml")
HEAD = 'version: 1\nclinician: "A, PT"\n'
BAD_PLANS = [
    # (answers, plan, what the message must say)
    (
        DESK,
        HEAD + "remove: [{exercise: chin_tuck}]\n",
        "remove chin_tuck: reason: is required (every change needs a reason)",
    ),
    (
        DESK,
        HEAD + "remove: [{exercise: chin_tuck, reason: '  '}]\n",
        "remove chin_tuck: reason: must not be empty",
    ),
    (
        DESK,
        HEAD + "remove: [{exercise: chin_tuk, reason: x}]\n",
        "remove chin_tuk: exercise: no exercise 'chin_tuk'; did you mean chin_tuck?",
    ),
    (
        DESK,
        HEAD + "add: [{exercise: chin_tuck, variant: seatd, reason: x}]\n",
        "add chin_tuck: variant: chin_tuck has no variant 'seatd'; did you mean seated?",
    ),
    (
        DESK,
        HEAD + "remove: [{exercise: chin_tuck, reasn: x}]\n",
        "remove chin_tuck: reasn: is not a known field; did you mean reason?",
    ),
    (DESK, HEAD + "removes: []\n", "removes: is not a known field; did you mean remove?"),
    (
        DESK,
        HEAD + "override: [{exercise: hip_hinge, rule: worse-bending-forward-no-flexon, reason: x}]\n",
        "override hip_hinge: rule: no rule 'worse-bending-forward-no-flexon'; did you mean worse-bending-forward-no-flexion?",
    ),
    (
        DESK,
        HEAD + "override: [{exercise: chin_tuck, rule: neck-warning-no-neck-stretching, reason: x}]\n",
        "override chin_tuck: rule: neck-warning-no-neck-stretching guards against a serious cause (a red flag); a plan can never set it aside",
    ),
    (
        DESK,
        HEAD + "override: [{exercise: chin_tuck, rule: red-flag-saddle-numbness, reason: x}]\n",
        "override chin_tuck: rule: red-flag-saddle-numbness guards against a serious cause",
    ),
    (
        DESK,
        HEAD + "override: [{exercise: chin_tuck, rule: direction-needs-physio, reason: x}]\n",
        "override chin_tuck: rule: direction-needs-physio is not an exclusion (it concludes refer)",
    ),
    (
        DESK,
        HEAD + "override: [{exercise: chin_tuck, rule: kneeling-hurts-pad-the-knee, reason: x}]\n",
        "override chin_tuck: rule: kneeling-hurts-pad-the-knee does not rule out chin_tuck",
    ),
    (
        DESK,
        HEAD + "clear: {level: urgent, reason: x}\n",
        "clear: level: an urgent referral can never be cleared",
    ),
    (
        DESK,
        HEAD + "clear: {level: physio, reason: x}\n",
        "clear: level: must be one of 'doctor_first' (got 'physio')",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Dr B, GP\", assessed_on: 2026-11-02}\n",
        "clear: reason: is required (every change needs a reason)",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_on: 2026-11-02, reason: examined}\n",
        "clear: assessed_by: is required (a see-a-doctor-first referral is cleared only once a doctor has assessed"
        " the person: name the doctor and their role, as 'Dr Sam Lee, GP' or 'Dr Ana Costa, oncologist')",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Ana Ruiz, PT\", assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: 'Ana Ruiz, PT' is not a doctor: a see-a-doctor-first referral is cleared only once a"
        " doctor has assessed the person, and a therapist, chiropractor, nurse or coach cannot clear it alone",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Jo Bloggs, physical therapist\", assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: 'Jo Bloggs, physical therapist' is not a doctor",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Sam Lee, receptionist\", assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: 'Sam Lee, receptionist' is not a doctor",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Sam Lee, nurse practitioner\", assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: 'Sam Lee, nurse practitioner' is not a doctor",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Sam Lee, friend of the family\", assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: 'Sam Lee, friend of the family' does not give a doctor's role: write it after the comma,"
        " such as GP, physician, consultant, oncologist, rheumatologist or orthopaedic surgeon",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"A, GP\", assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: names the plan's clinician (A, PT) with another role",
    ),
    (
        str(ROOT / "tests" / "personas" / "kb15-doctor-first.yaml"),
        HEAD + "clear: {level: doctor_first, assessed_by: \"Dr B, GP\", assessed_on: 2001-01-01, reason: x}\n",
        "clear: assessed_on: 2001-01-01 is before this pain began (it has lasted",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: none, assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: name the doctor and their role, as 'Dr Sam Lee, GP' or 'Dr Ana Costa, oncologist' (got 'none')",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"N/A, GP\", assessed_on: 2026-11-02, reason: x}\n",
        "clear: assessed_by: name the doctor and their role",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Dr B, GP\", reason: x}\n",
        "clear: assessed_on: is required (the day the doctor assessed the person, as YYYY-MM-DD)",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Dr B, GP\", assessed_on: 2999-01-01, reason: x}\n",
        "clear: assessed_on: 2999-01-01 is in the future: give the day the doctor assessed the person",
    ),
    (
        DESK,
        HEAD + "clear: {level: doctor_first, assessed_by: \"Dr B, GP\", assessed_on: \"2026-02-30\", reason: x}\n",
        "clear: assessed_on: must be a day that exists, as YYYY-MM-DD (got '2026-02-30')",
    ),
    (
        DESK,
        HEAD + "dose: [{exercise: hip_flexor_stretch, hold_seconds: 300, reason: x}]\n",
        "dose hip_flexor_stretch: hold_seconds: must be between 1 and 120 (got 300)",
    ),
    (
        DESK,
        HEAD + "dose: [{exercise: hip_flexor_stretch, sets: 9, reason: x}]\n",
        "dose hip_flexor_stretch: sets: must be between 1 and 5 (got 9)",
    ),
    (
        DESK,
        HEAD + "dose: [{exercise: hip_flexor_stretch, reason: x}]\n",
        "dose hip_flexor_stretch: needs at least one of hold_seconds, reps, sets",
    ),
    (
        DESK,
        HEAD + "dose: [{exercise: pelvic_tilt, hold_seconds: 10, reason: x}]\n",
        "dose pelvic_tilt: hold_seconds: Pelvic Tilt is done in repetitions, not held",
    ),
    (
        DESK,
        HEAD + "dose: [{exercise: chin_tuck, reps: '5', reason: x}]\n",
        "dose chin_tuck: reps: must be a whole number (got '5')",
    ),
    (
        DESK,
        HEAD + "remove: [{exercise: chin_tuck, reason: a}, {exercise: chin_tuck, reason: b}]\n",
        "remove chin_tuck: is listed twice in remove",
    ),
    (
        DESK,
        HEAD + "remove: [{exercise: chin_tuck, reason: a}]\nadd: [{exercise: chin_tuck, reason: b}]\n",
        "remove chin_tuck: is also added",
    ),
    (DESK, HEAD + "remove: [{reason: a}]\n", "remove[0]: exercise: is required"),
    (
        DESK,
        HEAD
        + "remove: [{exercise: hip_hinge, reason: a}]\n"
        + "override: [{exercise: hip_hinge, rule: no-kettlebell, reason: b}]\n",
        "remove hip_hinge: is also overridden, which puts it in the routine",
    ),
    (
        PHYSIO,
        HEAD
        + "remove: [{exercise: hip_flexor_stretch, reason: a}, {exercise: bodyweight_squat, reason: b}]\n",
        "remove: takes every exercise out of the routine, which leaves no routine to print",
    ),
    (DESK, HEAD + "remove: {exercise: chin_tuck, reason: a}\n", "remove: must be a list"),
    (DESK, 'version: 2\nclinician: "A"\n', "version: must be 1 (got 2)"),
    (DESK, "version: 1\n", "clinician: is required"),
    (DESK, 'version: 1\nclinician: "A"\nclinician: "B"\n', "clinician: is given twice (line 3)"),
    (DESK, HEAD + "remove: [{exercise: chin_tuck, reason: a, reason: b}]\n", "reason: is given twice"),
    (DESK, "[1, 2]\n", "expected a mapping (version, clinician, ...) at the top level, found a list"),
    (DESK, "# nothing\n", "empty file (only comments)"),
    (DESK, "", "empty file; expected a clinician's plan"),
    (DESK, "a: &x [1]\nb: *x\n", "aliases (*name) are not allowed"),
    (DESK, "[" * 30 + "]" * 30, "nested more than 20 levels deep"),
    # safe for some answers, not for these: adding an exercise a current answer rules out
    (
        PHYSIO,
        HEAD + "add: [{exercise: hip_hinge, reason: x}]\n",
        (
            "add hip_hinge: the answers rule out every way of doing hip_hinge; the nearest (bodyweight) is ruled out by"
            " rule worse-bending-forward-no-flexion: Pain that is worse bending forward can be made worse by stretching"
            " in that direction. To add it anyway the plan needs an override naming worse-bending-forward-no-flexion"
            " for hip_hinge"
        ),
    ),
    (
        PHYSIO,
        HEAD + "add: [{exercise: hip_flexor_stretch, variant: kneeling, reason: x}]\n",
        "add hip_flexor_stretch: the answers rule out hip_flexor_stretch (kneeling): rule kneeling-hurts-pad-the-knee",
    ),
    # an override of one rule does not set aside another that rules out the same way of doing it
    (
        PHYSIO,
        HEAD
        + "override: [{exercise: hip_flexor_stretch, rule: kneeling-hurts-pad-the-knee, reason: x}]\n"
        + "add: [{exercise: hip_flexor_stretch, variant: kneeling_padded, reason: x}]\n",
        "rule no-pillow",
    ),
]


@pytest.mark.parametrize("answers,text,expected", BAD_PLANS, ids=[str(i) for i in range(len(BAD_PLANS))])
@pytest.mark.parametrize("command", ["recommend", "explain"])
def test_a_bad_plan_is_exit_2_naming_the_file_and_the_entry(
    runner, tmp_path, answers, text, expected, command
):
    plan = tmp_path / "plan.yaml"
    plan.write_text(text, encoding="utf-8")
    out = tmp_path / "out.txt"
    result = runner.invoke(cli, [command, answers, "--adjust", str(plan), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert f"{plan}: " in result.stderr
    assert expected in " ".join(result.stderr.split()), result.stderr
    assert not out.exists()  # nothing written


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b"\xff\xfe", "not UTF-8 text (byte 0)"),
        (b"a\x00b", "binary data, not text"),
        (b"x: " + b"a" * 70_000, "larger than 64 kB"),
    ],
)
def test_a_plan_is_read_by_the_strict_reader(kb, raw, expected):
    with pytest.raises(PlanError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_plan(raw, "plan.yaml", kb)


def test_a_missing_plan_file_or_a_folder_is_exit_2(runner, tmp_path):
    for path, expected in (
        (tmp_path / "nope.yaml", "no such file"),
        (tmp_path, "is a directory, not a plan file"),
    ):
        result = runner.invoke(cli, ["recommend", DESK, "--adjust", str(path)])
        assert result.exit_code == 2 and expected in result.stderr


def test_why_not_does_not_take_a_plan(runner):
    result = runner.invoke(
        cli, ["explain", DESK, "--why-not", "chin_tuck", "--adjust", str(PLANS / "desk-worker.yaml")]
    )
    assert result.exit_code == 2 and "leave out --adjust" in result.stderr


# --------------------------------------------------------------------------- safety, over generated answers and plans


@cache
def _validator():
    import jsonschema

    schema = resources.files("recommender").joinpath("schemas", "recommendation.schema.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(schema))


def _active(kb, answers):
    """The exclusion rules whose conditions hold, evaluated in plain Python (not by the engine)."""
    values = answers.model_dump(mode="json")
    return [r for r in kb.rules if r.then.exclude and all(condition_holds(c, values) is True for c in r.when)]


def _assert_nothing_excluded_without_override(kb, answers, rec, plan):
    named = {(o.exercise, o.rule) for o in plan.override}
    for chosen in rec.routine.exercises:
        for rule in _active(kb, answers):
            if (chosen.id, chosen.variant) in kb.covered[rule.id]:
                assert (chosen.id, rule.id) in named, f"{chosen.id}/{chosen.variant} despite {rule.id}"
                assert not protected(kb, rule.id)


EXERCISES = sorted(KB.exercises)
PAIRS = sorted({(ex, rule) for rule, covered in KB.covered.items() for ex, _ in covered})
reasons = st.sampled_from(["assessed", "patient prefers it", "knee sore"])


@st.composite
def plan_dicts(draw, active=()):
    """Plans as a clinician might write them: mostly valid, some unsafe for the answers they meet.

    ``active`` holds the (exercise, rule) pairs the answers exclude, so that overrides and
    additions often meet a real exclusion rather than one that did not fire.
    """
    plan = {"version": 1, "clinician": "Test Clinician, PT"}
    pairs = st.sampled_from(PAIRS)
    if active:
        pairs = st.one_of(pairs, st.sampled_from(sorted(active)))
    overrides = draw(st.lists(pairs, max_size=3, unique=True))
    if overrides:
        plan["override"] = [{"exercise": e, "rule": r, "reason": draw(reasons)} for e, r in overrides]
    if draw(st.booleans()):
        plan["remove"] = [
            {"exercise": e, "reason": draw(reasons)}
            for e in draw(st.lists(st.sampled_from(EXERCISES), max_size=3, unique=True))
        ]
    adds = []
    excluded = sorted({e for e, _ in active}) or EXERCISES
    for e in draw(
        st.lists(st.one_of(st.sampled_from(EXERCISES), st.sampled_from(excluded)), max_size=3, unique=True)
    ):
        entry = {"exercise": e, "reason": draw(reasons)}
        if draw(st.booleans()):
            entry["variant"] = draw(st.sampled_from([v.id for v in KB.exercises[e].variants]))
        adds.append(entry)
    if adds:
        plan["add"] = adds
    doses = []
    for e in draw(st.lists(st.sampled_from(EXERCISES), max_size=2, unique=True)):
        entry = {
            "exercise": e,
            "reps": draw(st.integers(1, 30)),
            "sets": draw(st.integers(1, 5)),
            "reason": draw(reasons),
        }
        if KB.exercises[e].dose.hold_seconds is not None:
            entry["hold_seconds"] = draw(st.integers(1, 120))
        doses.append(entry)
    if doses:
        plan["dose"] = doses
    if draw(st.booleans()):
        plan["clear"] = {
            "level": draw(st.sampled_from(["doctor_first", "doctor_first", "urgent"])),
            "assessed_by": "Dr B, GP",
            "assessed_on": SEEN.isoformat(),
            "reason": "examined",
        }
    return plan


def _urgent(kb, answers):
    values = answers.model_dump(mode="json")
    return any(
        r.then.refer == "urgent" and all(condition_holds(c, values) is True for c in r.when) for r in kb.rules
    )


@given(answers_dicts, st.data())
def test_no_plan_yields_an_exercise_an_answer_excludes_and_an_urgent_referral_stands(kb, data, draw):
    answers = parse_answers(data, "generated")
    active = {(ex, r.id) for r in _active(kb, answers) for ex, _ in kb.covered[r.id]}
    plan_data = draw.draw(plan_dicts(active))
    rules = recommend(kb, answers)
    try:
        plan = parse_plan(plan_data, "plan", kb)
    except PlanError as e:  # refused as a document: a red-flag rule, an urgent clear, a mix-up
        assert str(e).startswith("plan: ")
        return
    try:
        rec = recommend(kb, answers, plan)
    except PlanError as e:
        if e.problems[0]["field"] == "remove":  # refused: it would leave no exercise at all
            assert rules.routine is not None and not plan.add and not plan.override
            assert {e.id for e in rules.routine.exercises} <= {r.exercise for r in plan.remove}
            return
        # refused for these answers: an addition that a current answer rules out, and no override names the rule
        exercise = e.problems[0]["field"].removeprefix("add ")
        entry = next((a for a in plan.add if a.exercise == exercise), None)
        ways = [
            v.id for v in kb.exercises[exercise].variants if entry is None or entry.variant in (None, v.id)
        ]
        named = {o.rule for o in plan.override if o.exercise == exercise}
        for way in ways:
            assert any(
                (exercise, way) in kb.covered[r.id] and r.id not in named for r in _active(kb, answers)
            )
        return
    assert len(rec.adjustments) == sum(
        len(getattr(plan, k)) for k in ("remove", "add", "dose", "override")
    ) + (plan.clear is not None)
    assert all(a.reason for a in rec.adjustments)
    if rules.referral.level == "urgent" or _urgent(kb, answers):
        assert rec.referral.level == "urgent" and rec.routine is None
        assert not any(a.applied for a in rec.adjustments)
        return
    if rules.referral.level == "doctor_first" and plan.clear is None:
        assert rec.referral.level == "doctor_first" and rec.routine is None
    if plan.clear is None:
        assert rec.referral.level == rules.referral.level
    else:
        assert LEVELS.index(rec.referral.level) >= LEVELS.index(
            min(rules.referral.level, "physio", key=LEVELS.index)
        )
    if rec.routine is not None:
        _assert_nothing_excluded_without_override(kb, answers, rec, plan)
        removed = {r.exercise for r in plan.remove}
        assert not removed & {e.id for e in rec.routine.exercises}
        # a card with fewer sets than the rules gave, that the plan did not dose, is named in the note
        given = {e.id: e.dose.sets for e in (rules.routine.exercises if rules.routine else [])}
        dosed = {d.exercise for d in plan.dose}
        for e in rec.routine.exercises:
            if e.id in given and e.id not in dosed and e.dose.sets < given[e.id]:
                assert f"{e.name} ({given[e.id]} sets to {e.dose.sets})" in (rec.routine.note or ""), rec.routine.note
        # "a session keeps at most N exercises" is never said of a routine the plan made longer
        import re

        for n in rec.not_chosen:
            said = re.search(r"keeps at most (\d+) exercises", n.detail)
            assert said is None or int(said.group(1)) >= len(rec.routine.exercises), n.detail
    assert list(_validator().iter_errors(json.loads(render(rec, "json")))) == []


def test_an_exercise_left_for_one_the_clinician_took_out_says_so(kb):
    answers = load_answers(str(EXAMPLES / "desk-worker.yaml"))
    rules = recommend(kb, answers)
    left = next(n for n in rules.not_chosen if n.reason == "same_movement")
    holder = next(
        e for e in rules.routine.exercises if kb.exercises[e.id].group == kb.exercises[left.id].group
    )
    plan = _plan(HEAD + f"remove: [{{exercise: {holder.id}, reason: sore}}]\n")
    after = next(n for n in recommend(kb, answers, plan).not_chosen if n.id == left.id)
    assert holder.name in left.detail and "in your routine" in left.detail
    assert (
        after.detail
        == f"It works the same movement as {holder.name}, which your clinician took out of the routine."
    )


def test_an_exercise_no_rule_called_for_rests_on_the_clinicians_reason(kb):
    answers = load_answers(str(EXAMPLES / "desk-worker.yaml"))
    assert "doorway_stretch" in {
        n.id for n in recommend(kb, answers).not_chosen if n.reason == "not_indicated"
    }
    plan = _plan(HEAD + "add: [{exercise: doorway_stretch, reason: chest tight on testing}]\n")
    rec = recommend(kb, answers, plan)
    card = next(e for e in rec.routine.exercises if e.id == "doorway_stretch")
    assert card.why == {
        "fact": "exercise:doorway_stretch",
        "label": card.name,
        "clinician": "A, PT",
        "because": "Added by A, PT: chest tight on testing",
        "from": [],
    }
    assert "doorway_stretch" not in {n.id for n in rec.not_chosen}
    assert list(_validator().iter_errors(json.loads(render(rec, "json")))) == []
    text = " ".join(render(rec, "text", today=TODAY).split())
    assert f"{card.name} ({card.variant_name.lower()})" in text and "Why: your clinician added it" in text
    for audience in (False, True):
        out = " ".join(
            render_explanation(explain(kb, answers, clinician=audience, plan=plan), "text").split()
        )
        assert "Added by A, PT: chest tight on testing" in out


def test_another_way_of_doing_a_card_keeps_its_dose(kb):
    """Review defect 10: an override for the kneeling hip-flexor stretch changed only the way of
    doing it, yet the card fell from the rules' 3 sets to 1 and the routine to 6 of 10 minutes."""
    answers = load_answers(str(EXAMPLES / "physio.json"))
    rules = next(e for e in recommend(kb, answers).routine.exercises if e.id == "hip_flexor_stretch")
    plan = _plan(
        HEAD
        + "override: [{exercise: hip_flexor_stretch, rule: kneeling-hurts-pad-the-knee, reason: kneels on a mat}]\n"
        + "add: [{exercise: hip_flexor_stretch, variant: kneeling, reason: a better stretch for her}]\n"
    )
    card = next(e for e in recommend(kb, answers, plan).routine.exercises if e.id == "hip_flexor_stretch")
    assert card.variant == "kneeling" != rules.variant
    assert card.dose == rules.dose and card.seconds == rules.seconds


def test_a_clear_at_a_follow_up_keeps_the_visit_and_says_the_routine_was_opened(kb):
    """Review of the follow-up sheets: a clinician who cleared a follow-up's see-a-doctor-first verdict
    got a sheet with no "Since last time" (the follow-up record was dropped) and JSON without
    ``follow_up``; the box must not say "see a doctor" above the routine the clear opened."""
    from recommender.pipeline import follow_up

    earlier = load_answers(str(EXAMPLES / "follow-up" / "first.yaml"))
    now = parse_answers(
        {**json.loads(json.dumps(earlier.model_dump(mode="json"))), "pain": 4, "days_done": 12,
         "overall_change": "better", "red_flags": ["night_pain", "cancer_history"]},
        "now",
    )
    plain = follow_up(kb, earlier, now)
    assert plain.referral.level == "doctor_first" and plain.routine is None
    plan = _plan(HEAD + f"clear: {{level: doctor_first, assessed_by: \"Dr Lee, GP\", assessed_on: {SEEN}, reason: \"examined today, mechanical pain\"}}\n")
    rec = follow_up(kb, earlier, now, plan=plan)
    assert rec.routine is not None and rec.follow_up == plain.follow_up
    assert "follow_up" in json.loads(render(rec, "json"))
    for fmt in ("text", "md", "html"):
        out = " ".join(render(rec, fmt).split())  # the text is wrapped
        assert f"Dr Lee, GP assessed you on {SEEN_WORDS} and it is cleared" in out, fmt
        assert plain.follow_up.sentence not in out, fmt


def test_a_physio_sheet_whose_routine_a_clinician_set_does_not_send_the_person_to_book_one(kb):
    """Review defect 11: after a therapist examined Kim and wrote her plan, the sheet still said
    "Book an appointment soon" and "until your appointment"; every format now names who set it."""
    answers = load_answers(str(EXAMPLES / "physio.json"))
    plan = _plan((EXAMPLES / "plans" / "physio.yaml").read_text())
    rec = recommend(kb, answers, plan)
    assert rec.referral.level == "physio" and rec.routine.exercises
    for fmt in ("text", "md", "html"):
        out = " ".join(render(rec, fmt).split())
        assert "Book an appointment" not in out and "Until your appointment" not in out, fmt
        assert f"{plan.clinician} has adjusted this routine for you" in out, fmt
    plain = " ".join(render(recommend(kb, answers), "text").split())
    assert "Book an appointment soon" in plain and "Until your appointment" in plain
    assert json.loads(render(rec, "json"))["referral"]["text"] == recommend(kb, answers).referral.text  # the JSON is the rules'


def test_a_cleared_sheets_same_day_signs_are_in_its_safety_box(kb):
    """A physiotherapist's fourth reading: on the printed sheet the same-day signs sat in the
    'Cleared to start' box, beside the reassurance, not in 'Safety first'."""
    import re

    helen = load_answers(str(ROOT / "tests" / "personas" / "kb15-doctor-first.yaml"))
    plan = _plan(f'version: 1\nclinician: "A, PT"\nclear: {{level: doctor_first, assessed_by: "Dr B, GP", assessed_on: {SEEN}, reason: "seen"}}\n')
    html = render(recommend(kb, helen, plan), "html", today=TODAY)
    boxes = dict(re.findall(r'<section class="box[^"]*" aria-label="([^"]+)">(.*?)</section>', html, re.S))
    assert "same day if an arm or a leg gets weak" in " ".join(boxes["Stop and seek help"].split())
    assert "same day" not in boxes["Cleared to start"]


def test_a_sheet_a_clinician_adjusted_or_cleared_says_who_and_keeps_a_watch_after_a_clear(kb):
    """The second reading of the plan sheets: a self-care sheet a therapist adjusted still said
    "if it is not better ..., see a physical therapist"; a cleared doctor-first sheet said the
    clinician "set the routine" (they only cleared it) and said nothing of when to go back to a doctor."""
    answers = load_answers(str(EXAMPLES / "desk-worker.yaml"))
    plan = _plan((EXAMPLES / "plans" / "desk-worker.yaml").read_text())
    for fmt in ("text", "md", "html"):
        out = " ".join(render(recommend(kb, answers, plan), fmt).split())
        assert "see a physical therapist" not in out.lower(), fmt
        assert "Ana Ruiz, PT has adjusted this routine for you" in out or fmt != "text", fmt  # the others: no self-care box
    first = parse_answers({**answers.model_dump(mode="json"), "red_flags": ["night_pain", "cancer_history"]}, "now")
    assert recommend(kb, first).referral.level == "doctor_first"
    clear = _plan(HEAD + f"clear: {{level: doctor_first, assessed_by: \"Dr Lee, GP\", assessed_on: {SEEN}, reason: \"examined today\"}}\n")
    for fmt in ("text", "md", "html"):
        out = " ".join(render(recommend(kb, first, clear), fmt).split())
        assert f"Dr Lee, GP assessed the reasons below on {SEEN_WORDS}, and A, PT has cleared you to start the exercises" in out, fmt
        assert "without seeing a doctor" not in out, fmt
        assert "See a doctor promptly if night pain gets worse or changes" in out, fmt
        assert "same day if an arm or a leg gets weak" in out, fmt  # the cord's warning signs, after a clear
        assert "adjusted the routine" not in out and "set the routine" not in out, fmt
