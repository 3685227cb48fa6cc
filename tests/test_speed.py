"""The speed-ups keep the output: each fast path against the plain one it replaces."""

from __future__ import annotations

from conftest import answers_dicts
from hypothesis import given

from recommender.answers import parse_answers
from recommender.pipeline import recommend
from recommender.render import render_json


@given(answers_dicts)
def test_json_output_is_pydantics_own_byte_for_byte(kb, data):
    rec = recommend(kb, parse_answers(data, "generated"))
    assert render_json(rec) == rec.model_dump_json(indent=2) + "\n"


@given(answers_dicts)
def test_matched_facts_decoded_late_are_the_facts_the_rule_tested(kb, data):
    """A firing keeps durable-rules' activation as text until its facts are read."""
    from recommender.conditions import FindingTest
    from recommender.engine import infer

    for f in infer(kb, parse_answers(data, "generated")).firings:
        assert len(f.matched) == len(f.alternative.facts)
        for test, fact in zip(f.alternative.facts, f.matched):
            if isinstance(test, FindingTest):
                assert fact == {"t": "f", "id": test.finding}
            else:
                assert fact["t"] == "a" and fact["q"] == test.answer
