"""`stretchwise batch`: line for line, bad lines reported and kept in place, streaming, workers."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from conftest import BASE

from recommender import batch
from recommender.cli import cli

GOOD = [dict(BASE), {**BASE, "sitting_hours": 9}, {**BASE, "red_flags": ["fever"]}, {**BASE, "areas": ["neck"]}]


def _write(tmp_path, lines):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_one_recommendation_per_line_in_order(runner, tmp_path):
    path = _write(tmp_path, [json.dumps(d) for d in GOOD])
    result = runner.invoke(cli, ["batch", str(path), "--workers", "1"])
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["version"] for o in out] == [1, 1, 1, 1]
    assert out[2]["referral"]["level"] == "doctor_first" and out[2]["routine"] is None
    single = runner.invoke(cli, ["recommend", "-", "-f", "json"], input=json.dumps(GOOD[1]))
    assert out[1] == json.loads(single.stdout)


def test_bad_lines_are_reported_and_kept_in_place(runner, tmp_path):
    lines = [json.dumps(GOOD[0]), json.dumps({**BASE, "pain": 11}), "not json", "", json.dumps(GOOD[1]),
             json.dumps({"areas": ["neck"]})]
    path = _write(tmp_path, lines)
    result = runner.invoke(cli, ["batch", str(path), "--workers", "1"])
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[1] == {"line": 2, "error": {"message": "line 2: pain: must be between 0 and 10 (got 11)",
                                          "problems": [{"field": "pain", "message": "must be between 0 and 10 (got 11)"}]}}
    assert out[2]["line"] == 3 and "not valid JSON" in out[2]["error"]["message"]
    assert out[3]["line"] == 4 and "empty line" in out[3]["error"]["message"]
    assert out[4]["version"] == 1
    assert {p["field"] for p in out[5]["error"]["problems"]} == {"pain", "duration_weeks", "red_flags"}
    assert f"{path}:2: pain: must be between 0 and 10 (got 11)" in result.stderr
    assert f"{path}:6: red_flags: is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_not_utf8_line_is_a_bad_line(runner, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(GOOD[0]).encode() + b"\n" + b'{"name": "Jos\xe9"}\n')
    result = runner.invoke(cli, ["batch", str(path), "--workers", "1"])
    assert result.exit_code == 1 and f"{path}:2: not UTF-8 text" in result.stderr


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_unreadable_input_exits_2(runner, tmp_path, make):
    path = tmp_path / "in.jsonl"
    if make == "directory":
        path.mkdir()
    result = runner.invoke(cli, ["batch", str(path)])
    assert result.exit_code == 2 and str(path) in result.stderr


def test_stdin_to_stdout(runner):
    result = runner.invoke(cli, ["batch", "-", "--workers", "1"], input=json.dumps(GOOD[0]) + "\n")
    assert result.exit_code == 0 and json.loads(result.stdout)["version"] == 1


def test_workers_give_the_same_output_as_one_process(runner, tmp_path):
    rng = random.Random(7)
    lines = [json.dumps({**BASE, "pain": rng.randint(0, 12), "sitting_hours": rng.randint(0, 12)}) for _ in range(450)]
    path = _write(tmp_path, lines)
    one = runner.invoke(cli, ["batch", str(path), "--workers", "1", "-o", str(tmp_path / "one.jsonl")])
    two = runner.invoke(cli, ["batch", str(path), "--workers", "2", "-o", str(tmp_path / "two.jsonl")])
    assert one.exit_code == two.exit_code == 1  # some pains are 11 or 12
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert len((tmp_path / "two.jsonl").read_text().splitlines()) == 450


def test_an_interrupted_run_leaves_no_output_that_looks_complete(runner, tmp_path, monkeypatch):
    path = _write(tmp_path, [json.dumps(GOOD[0])] * 5)
    target = tmp_path / "out.jsonl"
    real = batch.score

    def stop_midway(*args, **kwargs):
        for i, scored in enumerate(real(*args, **kwargs)):
            if i == 2:
                raise KeyboardInterrupt
            yield scored

    monkeypatch.setattr(batch, "score", stop_midway)
    result = runner.invoke(cli, ["batch", str(path), "-o", str(target), "--workers", "1"])
    assert result.exit_code != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_it_streams_reading_only_a_bounded_window_ahead(kb):
    pulled = 0

    def lines():
        nonlocal pulled
        for i in range(1, 20_001):
            pulled += 1
            yield i, json.dumps(BASE).encode()

    results = batch.score(lines(), workers=2)
    next(results)
    assert pulled <= (batch.AHEAD * 2 + 1) * batch.CHUNK  # not the whole input
    results.close()


def test_a_piped_run_prints_nothing_on_stderr_when_every_line_is_good(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"areas": ["neck"], "pain": 3, "duration_weeks": 2, "red_flags": []}\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "recommender", "batch", str(path), "--workers", "1"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_workers_write_chunk_files_that_are_gone_afterwards_and_a_killed_runs_are_removed(runner, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{batch._FOLDER}{dead.pid}.x"  # a run that was killed: its pid is gone
    stale.mkdir()
    (stale / "0.jsonl").write_text("{}\n")
    live = tmp_path / f"{batch._FOLDER}1.x"  # pid 1 is alive: not ours to remove
    live.mkdir()
    path = _write(tmp_path, [json.dumps(GOOD[0])] * 450)
    result = runner.invoke(cli, ["batch", str(path), "--workers", "2", "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 450
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(batch._FOLDER)) == [live.name]
