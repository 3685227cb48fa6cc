"""The engine: YAML rules compiled to durable-rules, chaining for real, every firing recorded."""

from __future__ import annotations

import pytest
from conftest import answers_dicts, person
from hypothesis import given

from recommender.answers import parse_answers
from recommender.content import alternatives
from recommender.engine import compile_ruleset, facts_for, infer
from recommender.errors import EngineError
from recommender.content import Rule


def fired(kb, **answers):
    return [f.rule.id for f in infer(kb, person(**answers)).firings]


# Each row: answers (beyond the base), rules that must fire, rules that must not.
CASES = [
    ("nothing special", {}, [], ["sitting-tightens-hip-flexors", "stiff-turning-means-stiff-c7-t1"]),
    ("long sitting starts chain 1", {"sitting_hours": 8},
     ["sitting-tightens-hip-flexors", "hip-flexors-tilt-pelvis", "pelvic-tilt-hinges-lumbar-spine",
      "hinging-explains-low-back-pain", "stretch-hip-flexors-for-low-back"], []),
    ("sitting without low back pain stops before the pain", {"sitting_hours": 8, "areas": ["neck"]},
     ["pelvic-tilt-hinges-lumbar-spine"], ["hinging-explains-low-back-pain", "stretch-hip-flexors-for-low-back"]),
    ("threshold is inclusive", {"sitting_hours": 6}, ["sitting-tightens-hip-flexors"], []),
    ("below threshold", {"sitting_hours": 5}, [], ["sitting-tightens-hip-flexors"]),
    ("stiff neck starts chain 3", {"stiff_to_turn_head": True, "areas": ["neck"]},
     ["stiff-turning-means-stiff-c7-t1", "stiff-c7-t1-tightens-scm", "tight-scm-holds-head-forward",
      "stiff-joint-and-forward-head-keep-neck-pain", "mobilise-c7-t1-with-chin-tucks", "stretch-scm"], []),
    ("saddle numbness", {"red_flags": ["saddle_numbness"]}, ["red-flag-saddle-numbness"], []),
    ("either direction", {"worse_with": ["bending_backward"]},
     ["direction-dependent-pain", "direction-needs-physio", "worse-bending-backward-no-extension"],
     ["worse-bending-forward-no-flexion"]),
    ("equipment listed is not excluded", {"equipment": ["chair"]}, ["no-wall"], ["no-chair"]),
    ("no equipment excludes all", {"equipment": []}, ["no-chair", "no-wall", "no-doorway", "no-pillow", "no-towel", "no-kettlebell"], []),
    ("numbness in a leg", {"numbness_or_tingling": "leg"},
     ["leg-symptoms-need-physio", "leg-symptoms-no-nerve-tension", "no-direction-series-chosen-for-you"],
     ["arm-symptoms-no-neck-side-bend-or-rotation", "arm-symptoms-need-physio"]),
    ("unsaid equipment is a typical home", {}, ["no-kettlebell"],
     ["no-chair", "no-wall", "no-doorway", "no-pillow", "no-towel"]),
]


@pytest.mark.parametrize("case,answers,must,must_not", CASES, ids=[c[0] for c in CASES])
def test_rules_that_fire(kb, case, answers, must, must_not):
    ids = fired(kb, **answers)
    for rule in must:
        assert rule in ids, f"{rule} did not fire"
    for rule in must_not:
        assert rule not in ids, f"{rule} fired"


def test_chain_1_fires_in_order_through_derived_facts(kb):
    ids = fired(kb, sitting_hours=9)
    chain = ["sitting-tightens-hip-flexors", "hip-flexors-tilt-pelvis", "pelvic-tilt-hinges-lumbar-spine",
             "hinging-explains-low-back-pain", "stretch-hip-flexors-for-low-back"]
    assert [i for i in ids if i in chain] == chain


def test_the_c7_t1_loop_terminates_and_derives_each_finding_once(kb):
    inf = infer(kb, person(stiff_to_turn_head=True, areas=["neck"]))
    loop = [f for f in inf.firings if f.rule.id == "raised-ribs-stiffen-c7-t1"]
    assert len(loop) == 1 and loop[0].new is False  # C7-T1 was already known: derived once
    assert inf.findings["stiff_c7_t1"].rule.id == "stiff-turning-means-stiff-c7-t1"


def test_join_of_two_derived_facts_and_an_answer(kb):
    inf = infer(kb, person(stiff_to_turn_head=True, areas=["neck"]))
    join = next(f for f in inf.firings if f.rule.id == "stiff-joint-and-forward-head-keep-neck-pain")
    assert [m.get("id", m.get("q")) for m in join.matched] == ["stiff_c7_t1", "forward_head_posture", "areas"]


def test_every_firing_records_the_facts_it_matched(kb):
    inf = infer(kb, person(sitting_hours=7))
    first = next(f for f in inf.firings if f.rule.id == "sitting-tightens-hip-flexors")
    assert first.matched[0]["q"] == "sitting_hours" and first.matched[0]["v"] == 7


def test_negation_sees_answers_in_any_order(kb):
    # equipment is asserted after minutes and other answers; no-chair must still see it
    assert "no-chair" not in fired(kb, equipment=["wall", "chair"])
    assert "no-chair" in fired(kb, equipment=["wall"])


def test_facts_are_typed_answers_and_the_person_fact_comes_last(kb):
    facts = facts_for(person(posture=["swayback", "forward_head"], age=None))
    assert facts[-1] == {"t": "p"}
    assert {"t": "a", "q": "posture", "v": "swayback"} in facts
    assert not any(f.get("q") in ("name", "age") for f in facts)


def test_any_and_one_of_expand_to_one_durable_rule_each():
    rule = Rule.model_validate({
        "id": "r", "because": "b", "source": "s",
        "when": [{"any": [{"answer": "pain", "at_least": 8}, {"answer": "worse_with", "includes_any": ["sitting", "standing"]}]},
                 {"not": {"answer": "stress", "one_of": ["high", "moderate"]}}],
        "then": {"refer": "physio", "message": "m"},
    })
    alts = alternatives(rule)
    assert len(alts) == 3
    assert all(len(a.negated) == 2 for a in alts)


def test_compiled_ruleset_has_sinks_and_one_action_per_alternative(kb):
    rules, actions = compile_ruleset(kb)
    assert {"sink-a", "sink-f", "sink-p"} <= set(rules)
    assert set(actions) == {k for k in rules if not k.startswith("sink-")}
    for name, alt in actions.items():
        joins_person = rules[name]["all"][0] == {"p": {"t": "p"}}
        assert joins_person == bool(alt.negated), name


def test_an_exception_inside_an_action_is_raised_not_swallowed(kb, monkeypatch):
    from recommender import engine

    def boom(*args, **kwargs):
        raise KeyError("while recording")

    monkeypatch.setattr(engine, "Firing", boom)  # called inside every action, through durable-rules
    with pytest.raises(EngineError, match="KeyError"):
        infer(kb, person(sitting_hours=9))
    monkeypatch.undo()
    assert "sitting-tightens-hip-flexors" in fired(kb, sitting_hours=9)  # the engine still works after


def test_many_people_do_not_exhaust_sessions(kb):
    # durable-rules allows about 1024 live sessions per ruleset; each person's is deleted
    for i in range(1500):
        infer(kb, person(pain=i % 11))


def test_only_tested_answers_are_asserted(kb):
    from recommender.engine import tested_fields

    fields = tested_fields(kb)
    assert {"sitting_hours", "areas", "red_flags", "equipment"} <= fields
    assert "name" not in fields and "version" not in fields
    facts = facts_for(person(sitting_hours=3), fields)
    assert {f["q"] for f in facts if "q" in f} <= fields


def test_the_host_runs_no_background_threads_that_could_steal_actions(kb):
    import threading
    import time

    before = {t.ident for t in threading.enumerate()}
    infer(kb, person(red_flags=["fever"]))
    time.sleep(0.3)  # durable's own Host would have dispatched from a timer thread by now
    new = [t for t in threading.enumerate() if t.ident not in before]
    assert new == []


def test_results_are_stable_across_time(kb):
    """Regression: the Host's timer thread once ran actions mid-assert, losing firings."""
    import time

    heavy = person(areas=["neck", "upper_back", "mid_back", "low_back"], red_flags=["trauma", "fever"],
                   posture=["swayback", "forward_head", "shoulders_raised", "rounded_shoulders"],
                   worse_with=["turning_head", "bending_backward"], sitting_hours=9, stiff_to_turn_head=True)
    expected = [f.rule.id for f in infer(kb, heavy).firings]
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert [f.rule.id for f in infer(kb, heavy).firings] == expected


@given(answers_dicts)
def test_engine_agrees_with_a_plain_python_fixpoint(kb, data):
    """Differential test: durable-rules (with our lean glue) against the plain evaluator."""
    from oracle import evaluate

    answers = parse_answers(data, "generated")
    inference = infer(kb, answers)
    fired, findings = evaluate(_plain(kb), answers.model_dump(mode="json"))
    assert {(f.rule.id, f.alternative.index) for f in inference.firings} == fired
    assert set(inference.findings) == findings


@given(answers_dicts)
def test_lean_glue_fires_exactly_what_durable_rules_own_glue_fires(kb, data):
    from recommender.engine import stock_host  # durable-rules' own per-firing glue

    answers = parse_answers(data, "generated")
    facts = facts_for(answers)
    global _STOCK
    if _STOCK is None:
        _STOCK = stock_host()
    name = _STOCK.ruleset(kb)
    stock, errors = _STOCK.run(name, [dict(f) for f in facts])
    assert errors == []
    lean = infer(kb, answers).firings
    assert [(f.rule.id, f.alternative.index, f.matched, f.new) for f in lean] == [
        (f.rule.id, f.alternative.index, f.matched, f.new) for f in stock
    ]


_STOCK = None
_PLAIN = {}


def _plain(kb):
    from oracle import compile_plain

    if kb.digest not in _PLAIN:
        _PLAIN[kb.digest] = compile_plain(kb)
    return _PLAIN[kb.digest]
