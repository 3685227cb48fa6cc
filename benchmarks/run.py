"""Speed of Stretchwise, measured side by side in one run.

    python benchmarks/run.py [--runs 15] [--people 500]

(a) the CLI's `recommend` on the bundled example as a whole process, against
    `python -c "import pydantic, click, jinja2"` in the same run (median wall
    time of each, and the ratio);
(b) in-process recommendations per second over generated personas, pinned to
    one core, split into the engine (durable-rules) and the rest;
(c) the printable sheet of the example, rendered as HTML and as PDF.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "desk-worker.yaml"


def _median_wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def persona(rng: random.Random) -> dict:
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


def in_process(people: int) -> dict[str, float]:
    from recommender.answers import parse_answers
    from recommender.engine import infer
    from recommender.knowledge import load_knowledge
    from recommender.render import render_json
    from recommender.routine import assemble

    kb = load_knowledge()
    rng = random.Random(42)
    data = [persona(rng) for _ in range(people + 50)]
    for d in data[:50]:  # warm-up: registration, caches
        a = parse_answers(d, "bench")
        render_json(assemble(kb, a, infer(kb, a)))
    parts = {"validate": 0.0, "engine": 0.0, "routine": 0.0, "render": 0.0}
    per_person = []
    firings = 0
    for d in data[50:]:
        t0 = time.perf_counter()
        a = parse_answers(d, "bench")
        t1 = time.perf_counter()
        inf = infer(kb, a)
        t2 = time.perf_counter()
        rec = assemble(kb, a, inf)
        t3 = time.perf_counter()
        render_json(rec)
        t4 = time.perf_counter()
        firings += len(inf.firings)
        for k, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            parts[k] += dt
        per_person.append(t4 - t0)
    total = sum(per_person)
    return {
        "people": people,
        "people_per_s": people / total,
        "median_ms": statistics.median(per_person) * 1000,
        "firings": firings / people,
        **{f"share_{k}": v / total for k, v in parts.items()},
    }


def floor(people: int) -> dict[str, float]:
    """The engine against the plain-Python fixpoint over the same rules and answers."""
    from recommender.answers import parse_answers
    from recommender.engine import infer
    from recommender.knowledge import load_knowledge
    from oracle import compile_plain, evaluate

    kb = load_knowledge()
    rng = random.Random(42)
    answers = [parse_answers(persona(rng), "bench") for _ in range(people)]
    alts = compile_plain(kb)
    dumped = [a.model_dump(mode="json") for a in answers]
    for a, d in zip(answers[:50], dumped[:50]):
        infer(kb, a)
        evaluate(alts, d)
    t = time.perf_counter()
    for a in answers:
        infer(kb, a)
    engine = time.perf_counter() - t
    t = time.perf_counter()
    for d in dumped:
        evaluate(alts, d)
    plain = time.perf_counter() - t
    return {"engine_per_s": people / engine, "plain_per_s": people / plain}


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children, in kB (Linux /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        me, parent = int(entry.name), int(stat[1])
        if me == pid or parent == pid:
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def batch_run(lines: int, workers: int, folder: Path) -> dict[str, float]:
    """`stretchwise batch` as a whole process over generated personas."""
    import json as _json

    source = folder / f"in-{lines}.jsonl"
    if not source.exists():
        rng = random.Random(lines)
        with source.open("w") as fh:
            for _ in range(lines):
                fh.write(_json.dumps(persona(rng)) + "\n")
    script = shutil.which("stretchwise") or str(Path(sys.executable).parent / "stretchwise")
    cmd = [script, "batch", str(source), "-o", str(folder / "out.jsonl"), "--workers", str(workers)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - t
    return {"per_s": lines / wall, "wall": wall, "rss_mb": peak / 1024}


def sheet_times(runs: int) -> dict[str, float]:
    """Median in-process time to render the example's sheet as HTML and as PDF."""
    from conftest import load_answers
    from recommender.knowledge import load_knowledge
    from recommender.render import render
    from recommender.pipeline import recommend

    rec = recommend(load_knowledge(), load_answers(str(EXAMPLE)))
    out = {}
    for fmt in ("html", "pdf"):
        render(rec, fmt)  # warm-up: imports, template compile, fonts
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            render(rec, fmt)
            times.append(time.perf_counter() - t)
        out[fmt] = statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--people", type=int, default=500)
    ap.add_argument("--batch", default="10000", help="comma-separated input sizes for the batch runs")
    args = ap.parse_args()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cores[0]})  # one core, children too (batch runs widen it again)
    script = shutil.which("stretchwise") or str(Path(sys.executable).parent / "stretchwise")
    base = _median_wall([sys.executable, "-c", "import pydantic, click, jinja2"], args.runs)
    cli = _median_wall([script, "recommend", str(EXAMPLE)], args.runs)
    r = in_process(args.people)
    sheet = sheet_times(max(5, args.runs // 3))
    fl = floor(args.people)
    batches = []
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(x) for x in args.batch.split(",") if x]:
            for workers in sorted({1, len(cores)}):
                if hasattr(os, "sched_setaffinity"):
                    os.sched_setaffinity(0, set(cores[:workers]))
                batches.append((size, workers, batch_run(size, workers, Path(tmp))))
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {cores[0]})
    print(f"Python {sys.version.split()[0]}, one core, {args.runs} runs / {args.people} people")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| bare `python -c \"import pydantic, click, jinja2\"` (median) | {base * 1000:.0f} ms |")
    print(f"| `stretchwise recommend examples/desk-worker.yaml` (median) | {cli * 1000:.0f} ms |")
    print(f"| CLI / bare import | {cli / base:.2f}x (target <= 2x) |")
    print(f"| in-process recommendations | {r['people_per_s']:.0f} people/s (target >= 500) |")
    print(f"| median per person | {r['median_ms']:.2f} ms, {r['firings']:.1f} rule firings |")
    print(
        f"| engine alone: durable-rules / plain-Python fixpoint (the floor) | {fl['engine_per_s']:.0f} / "
        f"{fl['plain_per_s']:.0f} people/s, {fl['plain_per_s'] / fl['engine_per_s']:.1f}x |"
    )
    for size, workers, b in batches:
        print(f"| `batch` {size} lines, {workers} worker(s) | {b['per_s']:.0f} people/s, {b['wall']:.1f} s, "
              f"peak RSS {b['rss_mb']:.0f} MB |")
    if len(batches) >= 2:
        for size in sorted({b[0] for b in batches}):
            one = next(b for s_, w, b in batches if s_ == size and w == 1)
            many = [(w, b) for s_, w, b in batches if s_ == size and w > 1]
            for w, b in many:
                print(f"| scaling at {size} lines, {w} workers | {b['per_s'] / one['per_s'] / w:.0%} of linear |")
    print(f"| sheet for the example: HTML / PDF (median) | {sheet['html'] * 1000:.1f} ms / {sheet['pdf'] * 1000:.0f} ms |")
    print(
        "| time share: validate / engine / routine / render JSON | "
        + " / ".join(f"{r['share_' + k] * 100:.0f}%" for k in ("validate", "engine", "routine", "render"))
        + " |"
    )


if __name__ == "__main__":
    main()
