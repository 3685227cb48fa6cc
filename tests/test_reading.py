"""The one strict reader, for knowledge as for answers (issue 14).

A key given twice in a rules or content file is a load error that names the
file, the item and the key, so `check` and every command refuse it; a FHIR
response is checked against the knowledge base in use, not the bundled one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, load_answers
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender import reading
from recommender.cli import cli
from recommender.errors import AnswersError, KnowledgeError
from recommender.fhir import to_response
from recommender.knowledge import load_knowledge


def _add_before(path: Path, anchor: str, text: str) -> None:
    body = path.read_text(encoding="utf-8")
    i = body.index(anchor)
    path.write_text(body[:i] + text + body[i:], encoding="utf-8")


def test_a_second_when_in_a_rule_fails_loading_naming_file_rule_and_key(kb_copy):
    # A second `when:` would otherwise silently replace what the rule excludes.
    _add_before(kb_copy / "rules" / "contraindications.yaml", "    when:", "    when:\n      - answer: pain\n        at_least: 11\n")
    with pytest.raises(KnowledgeError) as e:
        load_knowledge(kb_copy)
    assert "rules/contraindications.yaml: 'osteoporosis-no-deep-bend-or-twist': when: is given twice (line" in str(e.value)


@pytest.mark.parametrize("command", [["check"], ["recommend", str(EXAMPLES / "desk-worker.yaml")],
                                     ["exercises"], ["fhir", "questionnaire"]])
def test_every_command_refuses_a_knowledge_file_with_a_repeated_key(runner, kb_copy, command):
    _add_before(kb_copy / "content" / "exercises.yaml", "    name:", "    name: Twice\n")
    result = runner.invoke(cli, [*command, "--knowledge-dir", str(kb_copy)])
    assert result.exit_code in (1, 2), result.output
    assert "content/exercises.yaml: " in result.output and "name: is given twice" in result.output


def test_the_knowledge_limits_are_our_own_words():
    deep = "a: " + "[" * 60 + "]" * 60
    with pytest.raises(KnowledgeError, match="nested more than 40 levels deep"):
        reading.load_yaml(deep, "rules/x.yaml", reading.KNOWLEDGE, KnowledgeError)


@pytest.mark.parametrize("nesting", [25, 1_100, 30_000])
def test_deep_yaml_nesting_is_refused_in_our_words_at_any_depth(nesting):
    # libyaml refuses very deep flow nesting itself, in its own words (which changed in
    # PyYAML 6.0.4); the message must be ours whichever part noticed first.
    with pytest.raises(AnswersError, match="nested more than 20 levels deep"):
        reading.load_yaml("pain: " + "[" * nesting, "a.yaml")


def test_a_fhir_response_is_read_against_the_knowledge_base_in_use(runner, kb_copy, tmp_path):
    response = to_response(load_answers(str(EXAMPLES / "desk-worker.yaml")), load_knowledge())
    response["item"].append({"linkId": "sleeps_on_stomach", "answer": [{"valueBoolean": False}]})
    path = tmp_path / "response.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    assert runner.invoke(cli, ["recommend", str(path)]).exit_code == 0
    # The edited copy no longer asks about sleep: the same response answers a question it does not have.
    questions = kb_copy / "content" / "questions.yaml"
    body = questions.read_text(encoding="utf-8")
    start = body.index("  - id: sleeps_on_stomach")
    end = body.index("  # ---", start)
    questions.write_text(body[:start] + body[end:], encoding="utf-8")
    result = runner.invoke(cli, ["recommend", str(path), "--knowledge-dir", str(kb_copy)])
    assert result.exit_code == 2, result.output
    assert "linkId 'sleeps_on_stomach': not an item of the Stretchwise questionnaire" in result.output


# load_json skips the walk of _check_tree when the text alone shows that no limit can be
# broken (issue 22): that shortcut must never let through what the walk refuses.
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(min_codepoint=0xD000, max_codepoint=0xE000) | st.sampled_from("a{[,:\\\"")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values, ascii_only=st.booleans(), max_values=st.integers(1, 12), max_depth=st.integers(1, 5))
def test_the_shortcut_past_the_walk_is_never_wrong(value, ascii_only, max_values, max_depth):
    text = json.dumps(value, ensure_ascii=ascii_only)
    limits = reading.Limits(max_bytes=64_000, max_values=max_values, max_depth=max_depth)
    if reading._surely_within(text, limits):
        reading._check_tree(json.loads(text), "t", limits, AnswersError)  # does not raise
