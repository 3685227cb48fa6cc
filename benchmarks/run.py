"""Speed of Stretchwise: every figure of the speed table, measured side by side in one run.

    python benchmarks/run.py            # the full run (about 3 minutes on 2 cores)
    python benchmarks/run.py --quick    # fewer repeats (about 1 minute)
    python benchmarks/run.py --only start,engine

Each figure is a median over interleaved repeats (A B C A B C ...), so a busy
neighbour slows every contender alike, and is printed as a ratio beside the
absolute numbers:

start   the CLI as a whole process against a bare import of what it needs:
        ``stretchwise --help`` / ``python -c "import click"`` and
        ``stretchwise recommend examples/desk-worker.yaml --format json`` /
        ``python -c "import pydantic, click, jinja2"``;
person  in-process recommendations from raw JSON bytes over generated people,
        pinned to one core, split into reading, engine, routine and JSON;
engine  the rule engine alone, four ways over the same people: our engine;
        durable-rules' C engine with no Python glue at all (the floor for this
        engine: the same asserts, activations and session deletes, recording
        nothing); durable-rules' own Python glue (the stock Host); and the
        plain-Python fixpoint of tests/oracle.py, which is a differential
        check (the same conclusions, independently) and not a floor;
batch   ``stretchwise batch`` on generated people with 1 worker and with every
        core, and the share of linear scaling;
serve   ``stretchwise serve`` with 50 clients posting to /api/recommend
        (keep-alive connections), with 1 worker and with every core;
sheet   the printable sheet of the example as HTML and PDF.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "desk-worker.yaml"
sys.path.insert(0, str(ROOT / "tests"))  # the plain-Python oracle lives with the tests
SCRIPT = shutil.which("stretchwise") or str(Path(sys.executable).parent / "stretchwise")
CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def _pin(cores: list[int]) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cores))


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


# --------------------------------------------------------------------------- generated people


def persona(rng: random.Random) -> dict[str, Any]:
    from recommender.answers import field_choices

    def some(field: str, p: float = 0.3) -> list[str]:
        return [c for c in field_choices(field) if rng.random() < p]

    return {
        "areas": some("areas", 0.5) or ["low_back"],
        "pain": rng.randint(0, 10),
        "duration_weeks": rng.randint(0, 30),
        "red_flags": some("red_flags", 0.02),
        "numbness_or_tingling": rng.choice(["none"] * 6 + ["arm", "leg", "both"]),
        "sitting_hours": rng.randint(0, 12),
        "posture": some("posture"),
        "stiff_to_turn_head": rng.random() < 0.4,
        "stress": rng.choice(field_choices("stress")),
        "sleeps_on_stomach": rng.random() < 0.2,
        "worse_with": some("worse_with", 0.15),
        "home_care_not_helping": rng.random() < 0.2,
        "conditions": some("conditions", 0.05),
        "kneeling_hurts": rng.random() < 0.2,
        "floor_ok": rng.random() < 0.85,
        "equipment": some("equipment", 0.5),
        "minutes": rng.choice([5, 10, 15, 20, 30]),
    }


def people(n: int, seed: int = 42) -> list[bytes]:
    rng = random.Random(seed)
    return [json.dumps(persona(rng)).encode() for _ in range(n)]


# --------------------------------------------------------------------------- start-up


def start(runs: int) -> dict[str, Any]:
    """Whole processes, interleaved: each round runs every command once."""
    env = dict(os.environ)
    env.pop("STRETCHWISE_NO_CACHE", None)
    cmds = {
        "click": [sys.executable, "-c", "import click"],
        "help": [SCRIPT, "--help"],
        "imports": [sys.executable, "-c", "import pydantic, click, jinja2"],
        "recommend": [SCRIPT, "recommend", str(EXAMPLE), "--format", "json"],
    }
    for cmd in cmds.values():  # warm-up: the knowledge cache, .pyc files, the page cache
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for k, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
            times[k].append(time.perf_counter() - t)
    m = {k: _median(v) * 1000 for k, v in times.items()}
    return {"ms": m, "help_ratio": m["help"] / m["click"], "recommend_ratio": m["recommend"] / m["imports"]}


# --------------------------------------------------------------------------- in-process, per person


def person_times(n: int) -> dict[str, Any]:
    from recommender.engine import infer
    from recommender.knowledge import load_knowledge
    from recommender.reader import read_answers
    from recommender.render import render_json
    from recommender.routine import assemble

    kb = load_knowledge()
    data = people(n + 50)
    for raw in data[:50]:  # warm-up: registration, caches
        a = read_answers(raw, "bench", kb, json_only=True, what="line")
        render_json(assemble(kb, a, infer(kb, a)))
    parts: dict[str, list[float]] = {"read": [], "engine": [], "routine": [], "json": []}
    total, firings = [], []
    for raw in data[50:]:
        t0 = time.perf_counter()
        a = read_answers(raw, "bench", kb, json_only=True, what="line")
        t1 = time.perf_counter()
        inf = infer(kb, a)
        t2 = time.perf_counter()
        rec = assemble(kb, a, inf)
        t3 = time.perf_counter()
        render_json(rec)
        t4 = time.perf_counter()
        firings.append(len(inf.firings))
        for k, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            parts[k].append(dt)
        total.append(t4 - t0)
    return {
        "per_s": n / sum(total),
        "median_us": _median(total) * 1e6,
        "mean_us": {k: sum(v) / n * 1e6 for k, v in parts.items()},
        "firings": sum(firings) / n,
        "firings_p5_p95": (_pct(firings, 0.05), _pct(firings, 0.95)),
    }


# --------------------------------------------------------------------------- the engine alone, four ways


def _c_floor(kb: Any) -> Any:
    """durable-rules' C engine over our ruleset with no Python glue: pre-encoded facts,
    the finding asserts the rules make, the activations, the session delete. Nothing is
    recorded. This is what the engine cannot go below while it is durable-rules."""
    import durable_rules_engine as c_engine  # type: ignore[import-not-found]

    from recommender import engine

    engine.infer(kb, _answers(kb, people(1)[0]))  # the process's Host has registered the ruleset
    host = engine._HOST
    assert host is not None
    handle = host.handle(kb)
    _, alts = engine.compile_ruleset(kb)
    finding = {name: alt.rule.then.finding for name, alt in alts.items()}
    found = {name: json.dumps({"t": "f", "id": f, "sid": "floor"}) for name, f in finding.items() if f}
    assert_facts, assert_fact = c_engine.assert_facts, c_engine.assert_fact
    start_action, complete = c_engine.start_action_for_state, c_engine.complete_and_start_action
    delete = c_engine.delete_state

    def encode(answers: Any) -> str:
        facts = engine.facts_for(answers, engine.tested_fields(kb))
        for f in facts:
            f["sid"] = "floor"
        return json.dumps(facts)

    def run(encoded: str) -> None:
        code, state = assert_facts(handle, encoded)
        assert code == 0, code
        result = start_action(handle, state)
        message = result[1] if result else None
        while message:
            name = message[2 : message.index('"', 2)]
            if name in found:
                assert_fact(handle, found[name])
            message = complete(handle, state)
        delete(handle, "floor")

    return encode, run


def _answers(kb: Any, raw: bytes) -> Any:
    from recommender.reader import read_answers

    return read_answers(raw, "bench", kb, json_only=True, what="line")


def engine_times(n: int, rounds: int) -> dict[str, Any]:
    from oracle import compile_plain, evaluate

    from recommender import engine
    from recommender.knowledge import load_knowledge

    kb = load_knowledge()
    answers = [_answers(kb, raw) for raw in people(n, seed=7)]
    encode, floor_run = _c_floor(kb)
    encoded = [encode(a) for a in answers]
    alts = compile_plain(kb)
    dumped = [a.model_dump(mode="json") for a in answers]
    stock = engine.stock_host()
    stock_name = stock.ruleset(kb)
    stock_facts = [engine.facts_for(a) for a in answers]

    def ours() -> None:
        for a in answers:
            engine.infer(kb, a)

    def floor() -> None:
        for e in encoded:
            floor_run(e)

    def durable_glue() -> None:
        for facts in stock_facts:
            stock.run(stock_name, [dict(f) for f in facts])

    def plain() -> None:
        for d in dumped:
            evaluate(alts, d)

    ways = {"ours": ours, "floor": floor, "stock": durable_glue, "plain": plain}
    for fn in ways.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(rounds):
        for k, fn in ways.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    us = {k: _median(v) / n * 1e6 for k, v in times.items()}
    return {"us": us, "per_s": {k: 1e6 / v for k, v in us.items()}}


# --------------------------------------------------------------------------- batch


def batch_times(lines: int, rounds: int, folder: Path) -> dict[str, Any]:
    source = folder / "in.jsonl"
    source.write_bytes(b"\n".join(people(lines, seed=lines)) + b"\n")
    many = len(CORES)
    rates: dict[int, list[float]] = {1: [], many: []}
    cpu: dict[int, list[float]] = {1: [], many: []}  # CPU seconds a person, every process of the run
    for _ in range(rounds):
        for workers in rates:
            _pin(CORES[:workers])
            out = folder / f"out-{workers}.jsonl"
            cmd = [SCRIPT, "batch", str(source), "-o", str(out), "--workers", str(workers)]
            c0, t = os.times(), time.perf_counter()
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            rates[workers].append(lines / (time.perf_counter() - t))
            c1 = os.times()
            cpu[workers].append((c1.children_user + c1.children_system - c0.children_user - c0.children_system) / lines)
    _pin(CORES)
    one, all_ = _median(rates[1]), _median(rates[many])
    return {"lines": lines, "workers": many, "one": one, "many": all_, "scaling": all_ / (many * one),
            "cpu_one_us": _median(cpu[1]) * 1e6, "cpu_many_us": _median(cpu[many]) * 1e6}


# --------------------------------------------------------------------------- serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(port: int, bodies: list[bytes], until: float, latencies: list[float], start_at: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = random.randrange(len(bodies))
    try:
        while time.perf_counter() < until:
            body = bodies[i % len(bodies)]
            i += 1
            head = (
                f"POST /api/recommend HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            ).encode()
            t = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if not status.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"serve answered {status!r}")
            if t >= start_at:
                latencies.append(time.perf_counter() - t)
    finally:
        writer.close()


def serve_times(workers: int, clients: int, seconds: float) -> dict[str, Any]:
    port = _free_port()
    cmd = [SCRIPT, "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("serve did not start") from None
                time.sleep(0.1)
        bodies = people(500, seed=3)
        latencies: list[float] = []

        async def load() -> None:
            now = time.perf_counter()
            # each worker registers its rules on its first request, and starts its PDF worker (WeasyPrint)
            warm = now + min(5.0, seconds / 2)
            await asyncio.gather(*(_client(port, bodies, warm + seconds, latencies, warm) for _ in range(clients)))

        asyncio.run(load())
        return {
            "workers": workers,
            "per_s": len(latencies) / seconds,
            "p50_ms": _median(latencies) * 1000,
            "p99_ms": _pct(latencies, 0.99) * 1000,
        }
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGINT)  # uvicorn's own shutdown, its workers too
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --------------------------------------------------------------------------- the sheet


def sheet_times(runs: int) -> dict[str, float]:
    from recommender.knowledge import load_knowledge
    from recommender.pipeline import recommend
    from recommender.reader import load_answers
    from recommender.render import render

    kb = load_knowledge()
    rec = recommend(kb, load_answers(str(EXAMPLE), kb))
    out = {}
    for fmt in ("html", "pdf"):
        render(rec, fmt)  # warm-up: imports, template compile, fonts
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            render(rec, fmt)
            times.append(time.perf_counter() - t)
        out[fmt] = _median(times) * 1000
    return out


# --------------------------------------------------------------------------- the table


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, about a minute")
    ap.add_argument("--only", default="start,person,engine,batch,serve,sheet", help="comma-separated sections")
    ap.add_argument("--runs", type=int, help="start-up repeats per command [21; quick 9]")
    ap.add_argument("--people", type=int, help="generated people in process [1000; quick 400]")
    ap.add_argument("--batch", type=int, help="lines per batch run [4000; quick 2000]")
    ap.add_argument("--seconds", type=float, help="seconds of load per serve run [10; quick 5]")
    args = ap.parse_args()
    # as installed: pip compiles the package's bytecode, so the warm-up runs write it here too
    # (with PYTHONDONTWRITEBYTECODE every start would compile each of our modules again)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    q = args.quick
    runs = args.runs or (9 if q else 21)
    n = args.people or (400 if q else 1000)
    lines = args.batch or (2000 if q else 4000)
    seconds = args.seconds or (5.0 if q else 10.0)
    only = set(args.only.split(","))
    rows: list[tuple[str, str]] = []
    began = time.monotonic()

    if "start" in only:
        _pin(CORES[:1])
        s = start(runs)
        m = s["ms"]
        rows += [
            ("`stretchwise --help` / `python -c \"import click\"`",
             f"{s['help_ratio']:.2f}x ({m['help']:.0f} ms / {m['click']:.0f} ms; goal <= 1.3x)"),
            ("`stretchwise recommend examples/desk-worker.yaml --format json` / `python -c \"import pydantic, click, jinja2\"`",
             f"{s['recommend_ratio']:.2f}x ({m['recommend']:.0f} ms / {m['imports']:.0f} ms; goal <= 1.5x)"),
        ]
    if "person" in only:
        _pin(CORES[:1])
        p = person_times(n)
        u = p["mean_us"]
        lo, hi = p["firings_p5_p95"]
        rows += [
            (f"in process, {n} generated people, one core",
             f"{p['per_s']:.0f} people/s, median {p['median_us']:.0f} µs a person"),
            ("  where it goes: reading / engine / routine / JSON (mean)",
             f"{u['read']:.0f} / {u['engine']:.0f} / {u['routine']:.0f} / {u['json']:.0f} µs"),
            ("  rule firings a person (mean, 5th-95th percentile)", f"{p['firings']:.1f} ({lo}-{hi})"),
        ]
    if "engine" in only:
        _pin(CORES[:1])
        e = engine_times(min(n, 500), 5 if q else 9)
        us = e["us"]
        rows += [
            ("engine: ours / durable-rules' C floor (no Python glue)",
             f"{us['ours']:.0f} / {us['floor']:.0f} µs a person, {us['ours'] / us['floor']:.2f}x the floor"),
            ("engine: durable-rules' stock Python glue / ours",
             f"{us['stock']:.0f} µs a person, {us['stock'] / us['ours']:.2f}x ours"),
            ("differential check: plain-Python fixpoint (tests/oracle.py), same conclusions",
             f"{us['plain']:.0f} µs a person ({us['plain'] / us['ours']:.2f}x ours; not a floor)"),
        ]
    if "batch" in only:
        with tempfile.TemporaryDirectory() as tmp:
            b = batch_times(lines, 2 if q else 3, Path(tmp))
        rows += [
            (f"`batch`, {b['lines']} generated people, `--workers 1`", f"{b['one']:.0f} people/s (goal >= 2,000)"),
            (f"`batch`, same, `--workers {b['workers']}`, share of {b['workers']}x the 1-worker rate",
             f"{b['scaling']:.0%} ({b['many']:.0f} people/s; goal >= 90%)"),
            ("  CPU a person, all processes: 1 worker / all (less sensitive to a busy machine)",
             f"{b['cpu_one_us']:.0f} / {b['cpu_many_us']:.0f} µs, {b['cpu_one_us'] / b['cpu_many_us']:.0%}"),
        ]
    if "serve" in only:
        _pin(CORES)
        for workers in sorted({1, len(CORES)}):
            sv = serve_times(workers, 50, seconds)
            rows.append((f"`serve --workers {workers}`, 50 clients posting to /api/recommend",
                         f"{sv['per_s']:.0f} req/s, p50 {sv['p50_ms']:.0f} ms, p99 {sv['p99_ms']:.0f} ms (goal p99 <= 250 ms)"))
    if "sheet" in only:
        _pin(CORES[:1])
        sh = sheet_times(3 if q else 7)
        rows.append(("sheet for the example: HTML / PDF (median)", f"{sh['html']:.1f} ms / {sh['pdf']:.0f} ms"))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {sys.version.split()[0]}, {len(CORES)} cores, load average {load:.1f} at the end, "
          f"{time.monotonic() - began:.0f} s; `python benchmarks/run.py{' --quick' if q else ''}`")
    print()
    print("| figure | value |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
