"""Explanations: the tree back to the answers, why-not, the clinician's audit, and their formats.

Golden files live in tests/golden/explain/; refresh with
STRETCHWISE_UPDATE_GOLDEN=1 pytest tests/test_explain.py and read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import EXAMPLES, answers_dicts, person
from hypothesis import given
from hypothesis import strategies as st

from recommender.answers import parse_answers
from conftest import load_answers
from recommender.cli import cli
from recommender.cli.options import EXPLAIN_FORMATS
from recommender.engine import infer
from recommender.derivation import leaves, rules_in
from recommender.explanation import explanation, why_not
from recommender.render import EXPLAIN_TEMPLATES, render_explanation
from recommender.routine import assemble

HERE = Path(__file__).resolve().parent
PERSONAS = sorted((HERE / "personas").glob("*.yaml")) + [EXAMPLES / "desk-worker.yaml", EXAMPLES / "red-flag.yaml"]
GOLDEN = HERE / "golden" / "explain"
SUFFIX = {"text": "txt", "md": "md", "json": "json", "html": "html"}


def _view(kb, answers, clinician=False):
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    return explanation(kb, inference, rec, answers.model_dump(mode="json", exclude_unset=True), clinician)


def test_formats_are_the_template_registry():
    assert set(EXPLAIN_FORMATS) == set(EXPLAIN_TEMPLATES) == set(SUFFIX)


CASES = [(p, "person") for p in PERSONAS] + [
    (HERE / "personas" / "chain9-direction.yaml", "clinician"),
    (EXAMPLES / "desk-worker.yaml", "clinician"),
]


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
@pytest.mark.parametrize("persona,audience", CASES, ids=[f"{p.stem}-{a}" for p, a in CASES])
def test_explanations_match_golden_files(kb, persona, fmt, audience):
    out = render_explanation(_view(kb, load_answers(str(persona)), audience == "clinician"), fmt)
    golden = GOLDEN / f"{persona.stem}.{audience}.{SUFFIX[fmt]}"
    if os.environ.get("STRETCHWISE_UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with STRETCHWISE_UPDATE_GOLDEN=1"
    assert out == golden.read_text(encoding="utf-8")


def test_the_tree_reads_from_the_stretch_down_to_the_answers_in_plain_words(kb):
    view = _view(kb, load_answers(str(HERE / "personas" / "chain1-sitter.yaml")))
    hip = next(e for e in view["exercises"] if e["id"] == "hip_flexor_stretch")
    texts = [ln["text"] for ln in hip["lines"]]
    assert texts[0] == "Hip Flexor Stretch"
    order = [texts.index(t) for t in ("low back pain that starts at the hips", "the pelvis tipped forward",
                                       "tight muscles at the front of the hip", "you sit about 9 hours a day")]
    assert order == sorted(order)
    notes = {ln["text"]: ln["note"] for ln in hip["lines"]}
    assert notes["the pelvis tipped forward"] == "anterior pelvic tilt"  # the clinical term, second


def test_clinician_view_has_answers_audit_trail_findings_and_minimal_referral(kb):
    answers = load_answers(str(HERE / "personas" / "chain9-direction.yaml"))
    view = _view(kb, answers, clinician=True)
    assert view["answers"]["worse_with"] == ["bending_backward"]
    fired = infer(kb, answers).firings
    assert [f["rule"] for f in view["firings"]] == [f.rule.id for f in fired]
    assert all(f["source"] and f["concluded"] for f in view["firings"])
    assert {f["id"] for f in view["findings"]} >= {"direction_dependent_pain"}
    minimal = view["referral"]["minimal_answers"]
    assert len(minimal) == 1 and minimal[0]["answer"] in ("pain", "duration_weeks", "home_care_not_helping",
                                                          "numbness_or_tingling", "conditions", "worse_with")


def test_html_escapes_everything_the_person_wrote(kb):
    view = _view(kb, person(name="<script>alert(1)</script>", sitting_hours=9))
    page = render_explanation(view, "html")
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_markdown_escapes_the_name(kb):
    page = render_explanation(_view(kb, person(name="*Jo* | [x](y)", sitting_hours=9)), "md")
    assert "\\*Jo\\* \\| \\[x\\](y)" in page


@given(answers_dicts)
def test_every_why_names_rules_that_exist_and_fired(kb, data):
    answers = parse_answers(data, "generated")
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    fired = {f.rule.id for f in inference.firings}
    nodes = [r.why for r in rec.referral.reasons] + [f.why for f in rec.findings] + [a.why for a in rec.advice]
    if rec.routine:
        assert all(e.why for e in rec.routine.exercises)
        nodes += [e.why for e in rec.routine.exercises]
    for node in nodes:
        assert set(rules_in(node)) <= fired
        given = answers.model_dump(mode="json")
        assert all(leaf["value"] == given[leaf["answer"]] for leaf in leaves(node))
    for n in rec.not_chosen:
        assert n.reason in ("excluded", "not_indicated", "time_budget", "same_movement") and n.detail
        if n.reason == "excluded":
            assert n.rule in fired


@given(answers_dicts, st.data())
def test_why_not_answers_for_every_exercise(kb, data, pick):
    answers = parse_answers(data, "generated")
    inference = infer(kb, answers)
    rec = assemble(kb, answers, inference)
    eid = pick.draw(st.sampled_from(sorted(kb.exercises)))
    w = why_not(kb, answers, inference, rec, eid)
    assert w["status"] in ("chosen", "excluded", "not_indicated", "time_budget", "same_movement")
    if w["status"] in ("same_movement", "time_budget"):
        assert w["lines"]  # why it was called for
    if w["status"] == "not_indicated":
        assert w["would_need"] and all(need["missing"] for need in w["would_need"])
    if w["status"] == "excluded":
        assert w["rule"] and w["lines"]
    if w["status"] == "time_budget" and w["minutes_needed"]:
        longer = assemble(kb, answers.model_copy(update={"minutes": w["minutes_needed"]}), inference)
        assert eid in {e.id for e in longer.routine.exercises}


def test_why_not_every_library_exercise_through_the_cli(runner, kb):
    desk = str(EXAMPLES / "desk-worker.yaml")
    for eid in kb.exercises:
        result = runner.invoke(cli, ["explain", desk, "--why-not", eid])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(kb.exercises[eid].name)


def test_why_not_unknown_id_suggests_the_closest(runner):
    result = runner.invoke(cli, ["explain", str(EXAMPLES / "desk-worker.yaml"), "--why-not", "chin_tuk"])
    assert result.exit_code == 2
    assert "--why-not: no exercise 'chin_tuk'. Did you mean: chin_tuck?" in result.stderr


def test_explain_json_carries_the_v1_derivation_nodes(runner):
    result = runner.invoke(cli, ["explain", str(EXAMPLES / "desk-worker.yaml"), "-f", "json"])
    data = json.loads(result.stdout)
    hip = next(e for e in data["exercises"] if e["id"] == "hip_flexor_stretch")
    assert hip["why"]["fact"] == "exercise:hip_flexor_stretch"
    assert "lines" not in hip


def test_explain_bad_answers_exit_2(runner, tmp_path):
    bad = tmp_path / "a.yaml"
    bad.write_text("areas: [neck]\n")
    result = runner.invoke(cli, ["explain", str(bad)])
    assert result.exit_code == 2 and f"{bad}: pain: is required" in result.stderr
