"""The sheet claims no more than the reasoning behind it (issue 16, classes 4 and 5), as
properties over generated answers:

- the stop rule never tells a person to stop for a symptom they already reported;
- a finding the knowledge base holds as a hypothesis (and every finding resting on one)
  is worded as a possibility;
- the one-line why of each exercise names only its top findings and answers found in its
  tree, never strings findings into a chain, and never gives a guard (a negated answer
  test) as a reason; the person's trees hide guards and the clinician's keep them;
- why-not for an exercise nothing called for lists every route that could call for it,
  and for each finding a route lacks, every route to that finding.
"""

from __future__ import annotations

import re
from typing import Any

from conftest import answers_dicts, person
from hypothesis import given
from hypothesis import strategies as st
from test_sheet_claims import TODAY, outputs

from recommender.answers import parse_answers
from recommender.derivation import is_guard, leaves, reasons, said, tree
from recommender.engine import infer
from recommender.explanation import explanation, why_not
from recommender.pipeline import recommend
from recommender.render import render, render_why_not, sheet_context, why_line, why_parts
from recommender.routine import assemble


def _parse(data: dict[str, Any]):
    return parse_answers({k: v for k, v in data.items() if k != "name"}, "generated")


def _flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- class 4: the stop rule

#: The limbs each answer reports a symptom in.
REPORTED = {"none": set(), "arm": {"arm"}, "leg": {"leg"}, "both": {"arm", "leg"}}
ONSET = re.compile(r"(?:numbness|tingling) starts(?: in (?:an?|your) (arm|leg))?")


def onset_limbs(stop_rule: str) -> set[str]:
    """The limbs in which the stop rule says to stop when numbness or tingling *starts*."""
    limbs: set[str] = set()
    for m in ONSET.finditer(stop_rule):
        limbs |= {m.group(1)} if m.group(1) else {"arm", "leg"}
    return limbs


def test_every_tingling_answer_has_its_own_stop_rule(kb):
    assert set(kb.meta.stop_rule) == set(REPORTED)
    for answer, limbs in REPORTED.items():
        text = kb.meta.stop_rule[answer]
        assert onset_limbs(text) == {"arm", "leg"} - limbs, answer  # a new symptom elsewhere still stops
        if limbs:
            assert "spreads further down" in text and "gets worse" in text, answer


@given(answers_dicts)
def test_the_stop_rule_never_stops_a_person_for_what_they_already_feel(kb, data):
    answers = _parse(data)
    rec = recommend(kb, answers)
    reported = REPORTED[answers.numbness_or_tingling]
    assert rec.stop_rule == kb.meta.stop_rule[answers.numbness_or_tingling]
    assert not onset_limbs(rec.stop_rule) & reported
    if reported:
        assert "spreads further down" in rec.stop_rule and "gets worse" in rec.stop_rule
    if rec.routine and rec.routine.exercises:
        for fmt, seen in outputs(rec).items():
            assert _flat(rec.stop_rule) in seen, fmt
            for other, text in kb.meta.stop_rule.items():
                if other != answers.numbness_or_tingling:
                    assert _flat(text) not in seen, (fmt, other)


def test_owen_with_tingling_in_both_is_told_to_stop_if_it_spreads_not_if_it_starts(kb):
    rec = recommend(kb, person(numbness_or_tingling="both", areas=["low_back", "mid_back"], sitting_hours=8))
    assert "starts" not in rec.stop_rule
    assert "spreads further down an arm or a leg or gets worse" in _flat(rec.stop_rule)


# --------------------------------------------------------------------------- class 5: hypotheses

HEDGE = re.compile(r"\b(may|might|can|could|likely|probably|possibly|fits?|suggests?)\b", re.IGNORECASE)
UNPROVEN = re.compile(r"working hypothesis|not examined|not measured", re.IGNORECASE)


def hypotheses(kb) -> set[str]:
    """Findings whose own note says they are a hypothesis, or were never examined or measured."""
    return {fid for fid, f in kb.findings.items() if UNPROVEN.search(f.note)}


def test_a_finding_the_knowledge_base_calls_a_hypothesis_is_worded_as_one(kb):
    assert "compensatory_upper_tension" in hypotheses(kb)
    for fid in hypotheses(kb):
        assert HEDGE.search(kb.findings[fid].label), f"{fid}: {kb.findings[fid].label!r}"
    label = kb.findings["hip_driven_neck_mid_back_pain"].label
    assert HEDGE.search(label) and "do not fix" not in label


def _findings_under(node: dict[str, Any]) -> set[str]:
    if "answer" in node:
        return set()
    here = {node["fact"].removeprefix("finding:")} if node["fact"].startswith("finding:") else set()
    return here | {f for child in node["from"] for f in _findings_under(child)}


def _walk(node: dict[str, Any]):
    if "answer" not in node:
        yield node
        for child in node["from"]:
            yield from _walk(child)


@given(answers_dicts)
def test_a_finding_resting_on_a_hypothesis_is_worded_as_one_too(kb, data):
    rec = recommend(kb, _parse(data))
    roots = [f.why for f in rec.findings] + [e.why for e in (rec.routine.exercises if rec.routine else [])]
    for root in roots:
        for node in _walk(root):
            if node["fact"].startswith("finding:") and _findings_under(node) & hypotheses(kb):
                assert HEDGE.search(node["label"]), node["label"]


# --------------------------------------------------------------------------- class 5: the one-line why


@given(answers_dicts)
def test_the_one_line_why_is_made_only_of_what_its_tree_holds(kb, data):
    answers = _parse(data)
    rec = recommend(kb, answers)
    if not (rec.routine and rec.routine.exercises):
        return
    views = outputs(rec)
    labels = {f.label for f in kb.findings.values()}
    for ex in rec.routine.exercises:
        line = why_line(ex.why)
        top, said_back = why_parts(ex.why)
        # findings: only those the choice rests on directly, so no chain the tree does not hold
        assert set(top) == {c["label"] for c in ex.why["from"] if "fact" in c}
        # answers: only the reasons under this exercise, never a guard
        assert set(said_back) == {said(leaf) for leaf in reasons(ex.why)}
        assert "←" not in line and "<-" not in line
        for label in labels - set(top):
            if not any(label in part for part in top + said_back):
                assert label not in line, (ex.id, label)
        guards = {said(leaf) for leaf in leaves(ex.why) if is_guard(leaf)} - set(said_back)
        for words in guards:
            assert words not in line, (ex.id, words)
        # and it is the line every format prints
        assert sheet_context(rec, TODAY)["why"][ex.id] == line
        for fmt, seen in views.items():
            assert _flat(line) in seen, (fmt, ex.id)
            for words in guards:
                assert f"Why: {words}" not in seen and f"; {words}" not in seen, (fmt, words)


def test_the_scalene_stretch_no_longer_reads_as_if_tight_scms_came_from_tight_scalenes(kb):
    rec = recommend(kb, person(areas=["neck"], stiff_to_turn_head=True, minutes=60))
    lines = {e.id: why_line(e.why) for e in rec.routine.exercises}
    assert "←" not in " ".join(lines.values())
    assert "tight muscles at the front and side of the neck" not in lines["scalene_stretch"]


@given(answers_dicts)
def test_no_person_facing_why_gives_a_guard_and_the_clinician_sees_every_one(kb, data):
    answers = _parse(data)
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    given_ = answers.model_dump(mode="json")
    for clinician in (False, True):
        view = explanation(kb, inference, rec, given_, clinician)
        for item in view["exercises"] + view["referral"]["reasons"]:
            shown = [ln["text"] for ln in item["lines"] if ln["kind"] == "answer"]
            guard_words = [said(leaf) for leaf in leaves(item["why"]) if is_guard(leaf)]
            reason_words = {said(leaf) for leaf in reasons(item["why"])}
            if clinician:
                assert set(guard_words) <= set(shown)
            else:
                assert not (set(guard_words) - reason_words) & set(shown)
    # what the sheet tells the doctor is what made the referral, not what was absent
    tell = sheet_context(rec, TODAY)["tell_the_doctor"]
    made = {said(leaf) for r in rec.referral.reasons for leaf in reasons(r.why)}
    assert set(tell) <= made


def test_the_pelvic_tilt_why_does_not_list_what_the_person_did_not_say(kb):
    rec = recommend(kb, person(minutes=60))
    tilt = next(e for e in rec.routine.exercises if e.id == "pelvic_tilt")
    assert "did not say" not in why_line(tilt.why)
    assert all("did not say" not in ln["text"] for ln in tree(kb, tilt.why))
    assert any("did not say" in ln["text"] for ln in tree(kb, tilt.why, clinician=True))
    assert "did not say" not in render(rec, "text", today=TODAY)


# --------------------------------------------------------------------------- class 5: every route in why-not


def _check_routes(kb, inference, routes: list[dict[str, Any]], expanded: set[str], path: frozenset[str]) -> None:
    """Each lacking finding lists every rule alternative that derives it (bar loops back onto the path)."""
    from recommender.conditions import FindingTest

    by_label = {f.label: fid for fid, f in kb.findings.items()}
    assert len(by_label) == len(kb.findings)
    for route in routes:
        assert route["rule"] in {r.id for r in kb.rules}
        for need in route["missing"]:
            fid = by_label.get(need["text"])
            if fid is None:
                assert not need["routes"]  # an answer the person did not give, or a guard tripped
                continue
            assert fid not in inference.findings  # a finding the person has is not lacking
            if need["above"]:
                assert fid in expanded, f"{fid} said to be above but never shown"
                continue
            expanded.add(fid)
            inner = path | {fid}
            expected = [
                r.id for r in kb.rules if r.then.finding == fid
                for alt in kb.alternatives[r.id]
                if not any(isinstance(t, FindingTest) and t.finding in inner for t in alt.facts)
            ]
            assert [r["rule"] for r in need["routes"]] == expected, fid
            _check_routes(kb, inference, need["routes"], expanded, inner)


@given(answers_dicts, st.data())
def test_why_not_lists_every_route_that_could_call_for_an_exercise(kb, data, pick):
    answers = _parse(data)
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    missing = sorted(n.id for n in rec.not_chosen if n.reason == "not_indicated")
    if not missing:
        return
    eid = pick.draw(st.sampled_from(missing))
    w = why_not(kb, answers, inference, rec, eid)
    indicating = [(r.id, alt.index) for r in kb.rules if r.then.indicate == eid for alt in kb.alternatives[r.id]]
    assert [route["rule"] for route in w["would_need"]] == [rid for rid, _ in indicating]
    assert all(route["missing"] for route in w["would_need"])
    _check_routes(kb, inference, w["would_need"], set(), frozenset())
    text = render_why_not(w)
    for rid, _ in indicating:
        assert rid + ":" in text


def test_why_not_the_squat_shows_both_routes_to_lazy_glutes(kb):
    answers = person(areas=["neck"])
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    w = why_not(kb, answers, inference, rec, "bodyweight_squat")
    glutes = w["would_need"][0]["missing"][0]
    assert {r["rule"] for r in glutes["routes"]} == {
        r.id for r in kb.rules if r.then.finding == "weak_glutes_hamstrings"
    }
    assert "None" not in render_why_not(w)
