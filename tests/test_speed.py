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


def test_the_entry_point_turns_off_pydantics_plugin_scan_unless_told_otherwise(monkeypatch):
    import os
    import sys

    import pytest

    from recommender.cli import main

    for given, expected in ((None, "1"), ("", ""), ("__all__", "__all__")):
        if given is None:
            monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
        else:
            monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", given)
        monkeypatch.setattr(sys, "argv", ["stretchwise", "--help"])
        with pytest.raises(SystemExit):
            main()
        assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == expected


def test_help_and_a_json_recommendation_import_no_fhir_module():
    """The FHIR reader is imported only for a QuestionnaireResponse (a faster CLI start)."""
    import subprocess
    import sys

    from pathlib import Path

    example = str(Path(__file__).resolve().parent.parent / "examples" / "desk-worker.yaml")
    code = (
        f"import sys; sys.argv = ['stretchwise', 'recommend', {example!r}, '--format', 'json'];"
        "from recommender.cli import main\n"
        "try: main()\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('recommender.fhir')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
