"""The speed-ups keep the output: each fast path against the plain one it replaces."""

from __future__ import annotations

from conftest import answers_dicts
from hypothesis import given

from recommender.answers import parse_answers
from recommender.pipeline import recommend
from recommender.render import render_json


@given(answers_dicts)
def test_json_output_is_what_pydantic_writes_for_the_same_records_byte_for_byte(kb, data):
    """The records are plain dataclasses written by orjson; pydantic, told the same types, writes
    the same bytes, and reading them back checks every value against its declared type (a
    Literal too), which no longer happens when a record is built."""
    import json

    from pydantic import TypeAdapter

    from recommender.recommendation import Recommendation
    from recommender.render import json_line

    rec = recommend(kb, parse_answers(data, "generated"))
    left_out = {"safety_net"} | {k for k in ("adjusted_by", "adjustments", "follow_up") if getattr(rec, k) is None}
    adapter = TypeAdapter(Recommendation)
    assert render_json(rec) == adapter.dump_json(rec, indent=2, exclude=left_out).decode() + "\n"
    assert json_line(rec) == adapter.dump_json(rec, exclude=left_out).decode()
    again = adapter.validate_python(json.loads(render_json(rec)), strict=False)
    assert again == rec.__class__(**{**rec.__dict__, "safety_net": None})


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


def test_serve_with_two_workers_answers_from_two_processes_the_same_json(kb, tmp_path):
    """`serve --workers 2`: uvicorn's processes, each with its own engine, give what one process gives."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from recommender.render import render_json

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "recommender", "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
    )
    try:
        body = {"areas": ["neck", "low_back"], "pain": 4, "duration_weeks": 3, "red_flags": [], "sitting_hours": 8}
        expected = render_json(recommend(kb, parse_answers(body, "body")))
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        for _ in range(6):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/recommend", json.dumps(body).encode(), {"content-type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as reply:
                assert reply.read().decode() == expected
        while (started := (tmp_path / "serve.log").read_text().count("Started server process [")) < 2:
            if time.monotonic() > deadline:  # the second worker may still be starting on a busy machine
                break
            time.sleep(0.2)
        assert started == 2, "expected a server process for each worker"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert proc.returncode == 0
