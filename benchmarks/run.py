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


def sheet_times(runs: int) -> dict[str, float]:
    """Median in-process time to render the example's sheet as HTML and as PDF."""
    from recommender.answers import load_answers
    from recommender.knowledge import load_knowledge
    from recommender.render import render
    from recommender.routine import build_routine

    rec = build_routine(load_knowledge(), load_answers(str(EXAMPLE)))
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
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children too
    script = shutil.which("stretchwise") or str(Path(sys.executable).parent / "stretchwise")
    base = _median_wall([sys.executable, "-c", "import pydantic, click, jinja2"], args.runs)
    cli = _median_wall([script, "recommend", str(EXAMPLE)], args.runs)
    r = in_process(args.people)
    sheet = sheet_times(max(5, args.runs // 3))
    print(f"Python {sys.version.split()[0]}, one core, {args.runs} runs / {args.people} people")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| bare `python -c \"import pydantic, click, jinja2\"` (median) | {base * 1000:.0f} ms |")
    print(f"| `stretchwise recommend examples/desk-worker.yaml` (median) | {cli * 1000:.0f} ms |")
    print(f"| CLI / bare import | {cli / base:.2f}x (target <= 2x) |")
    print(f"| in-process recommendations | {r['people_per_s']:.0f} people/s (target >= 500) |")
    print(f"| median per person | {r['median_ms']:.2f} ms, {r['firings']:.1f} rule firings |")
    print(f"| sheet for the example: HTML / PDF (median) | {sheet['html'] * 1000:.1f} ms / {sheet['pdf'] * 1000:.0f} ms |")
    print(
        "| time share: validate / engine / routine / render JSON | "
        + " / ".join(f"{r['share_' + k] * 100:.0f}%" for k in ("validate", "engine", "routine", "render"))
        + " |"
    )


if __name__ == "__main__":
    main()
