"""Reliability under faults (issue 19): what -o does with odd targets, a full disk,
and a batch killed by SIGTERM or SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

LINE = json.dumps({"areas": ["low_back"], "pain": 4, "duration_weeks": 3, "red_flags": []})


def _stretchwise(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recommender", *args], capture_output=True, text=True, **kwargs)


@pytest.fixture
def small_input(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(LINE + "\n", encoding="utf-8")
    return path


def test_o_through_a_symlink_replaces_the_file_and_keeps_the_link(tmp_path, small_input):
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    done = _stretchwise("batch", str(small_input), "-o", str(link), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == real
    assert json.loads(real.read_text())["version"] == 1
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the file keeps its permission bits


def test_o_keeps_an_existing_files_mode_and_makes_a_new_one_private(tmp_path, small_input):
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    kept.chmod(0o644)
    assert _stretchwise("recommend", str(small_input).replace("in.jsonl", "a.json"), "-o", str(kept)).returncode == 2
    (tmp_path / "a.json").write_text(LINE)
    assert _stretchwise("recommend", str(tmp_path / "a.json"), "-f", "json", "-o", str(kept)).returncode == 0
    assert stat.S_IMODE(kept.stat().st_mode) == 0o644
    new = tmp_path / "new.json"
    assert _stretchwise("recommend", str(tmp_path / "a.json"), "-f", "json", "-o", str(new)).returncode == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600  # health data: readable by its owner only


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null")
def test_o_onto_a_device_writes_through_and_never_replaces_it(small_input):
    before = os.stat("/dev/null")
    done = _stretchwise("batch", str(small_input), "-o", "/dev/null", "--workers", "1")
    assert done.returncode == 0, done.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_disk_is_exit_2_with_a_message_not_a_traceback(small_input):
    done = _stretchwise("batch", str(small_input), "-o", "/dev/full", "--workers", "1")
    assert done.returncode == 2
    assert "/dev/full: cannot write" in done.stderr and "Traceback" not in done.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _gone(pids: set[int], seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        alive = {p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)}
        if not alive:
            return True
        time.sleep(0.1)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def _running_batch(tmp_path: Path) -> tuple[subprocess.Popen, Path, set[int]]:
    big = tmp_path / "big.jsonl"
    big.write_text((LINE + "\n") * 40_000, encoding="utf-8")
    target = tmp_path / "out.jsonl"
    target.write_text("the previous results\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "recommender", "batch", str(big), "-o", str(target), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    end = time.monotonic() + 30
    workers: set[int] = set()
    while time.monotonic() < end and len(workers) < 2:
        workers = _children(proc.pid)
        time.sleep(0.1)
    assert len(workers) >= 2, "the workers did not start"
    # wait until the temporary output holds something, so there is a file to clean up
    while time.monotonic() < end and not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    return proc, target, workers


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sigterm_stops_the_workers_removes_the_temporary_file_and_exits_143(tmp_path):
    proc, target, workers = _running_batch(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert _gone(workers), "workers outlived the batch"
    assert target.read_text() == "the previous results\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert "Traceback" not in err


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sigkill_takes_the_workers_along_and_the_next_run_removes_the_leftover(tmp_path):
    proc, target, workers = _running_batch(tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone(workers), "workers outlived a killed batch"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "expected a leftover to clean"
    assert target.read_text() == "the previous results\n"
    small = tmp_path / "one.jsonl"
    small.write_text(LINE + "\n")
    done = _stretchwise("batch", str(small), "-o", str(target), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_serve_writes_no_cache_while_it_runs(tmp_path):
    """`serve` keeps nothing: not even compiled templates in the user's cache folder."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = tmp_path / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("STRETCHWISE_NO_CACHE", None)
    proc = subprocess.Popen([sys.executable, "-m", "recommender", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        end = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/recommend", data=LINE.encode(),
                                         headers={"content-type": "application/json"})
        assert json.loads(urllib.request.urlopen(request, timeout=10).read())["version"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not cache.exists() or not any(cache.rglob("*")), sorted(cache.rglob("*"))


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_pdfs_do_not_grow_the_server(kb):
    """WeasyPrint keeps native memory per PDF; the server makes them in a worker it replaces."""
    testclient = pytest.importorskip("fastapi.testclient")
    from recommender.web import create_app

    with testclient.TestClient(create_app(kb)) as client:
        def one() -> None:
            r = client.post("/routine.pdf", data={"answers": LINE})
            assert r.status_code == 200 and r.content.startswith(b"%PDF")

        for _ in range(5):  # warm-up: the fork server, the worker, the routes
            one()
        before = _rss_kb()
        for _ in range(60):
            one()
        grown = _rss_kb() - before
    assert grown < 6 * 1024, f"the server grew by {grown} kB over 60 PDFs"
