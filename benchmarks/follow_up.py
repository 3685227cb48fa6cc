"""Speed of a follow-up visit (issue 20) against one visit, in-process.

    taskset -c 1 .venv/bin/python benchmarks/follow_up.py [--runs 200]

A follow-up runs the rules for both visits and the check-in rules on the same
engine, so it costs about two recommendations and a little more.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from recommender.knowledge import load_knowledge
from recommender.pipeline import follow_up, recommend
from recommender.reader import load_answers

PAIRS = Path(__file__).resolve().parent.parent / "examples" / "follow-up"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    kb = load_knowledge()
    first = load_answers(str(PAIRS / "first.yaml"), kb)
    nows = {n: load_answers(str(PAIRS / f"{n}.yaml"), kb) for n in ("progress", "continue", "simplify", "worse", "no-better")}
    for _ in range(20):  # warm up: the engine registers the rulesets once
        follow_up(kb, first, nows["progress"])

    def median_ms(job: object, *args: object) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            job(*args)  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    for name, now in nows.items():
        print(f"follow-up {name:<10} {median_ms(follow_up, kb, first, now):6.2f} ms (median of {runs})")
    print(f"recommend (one visit) {median_ms(recommend, kb, nows['progress']):6.2f} ms (median of {runs})")


if __name__ == "__main__":
    main()
