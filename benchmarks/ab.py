"""This working tree against an earlier revision, in one process, interleaved: what a change bought.

    python benchmarks/ab.py 0b46fe4 [--people 300] [--rounds 7]

The revision's package is exported (``git archive``) under another name, with
its own rules, content and templates, so both run side by side on the same
generated people: reading, engine, routine assembly and JSON are timed in
turns, person by person (A B A B ...), and each part's median over the rounds is printed with the ratio. The
outputs are compared too. Pinned to one core; the knowledge cache is off for
both (their cached objects would not be the same classes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def export(rev: str, folder: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", rev, "recommender", "rules", "content", "templates"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "recommender").rename(folder / "recbase")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("rev", help="the revision to compare with (a commit, a branch)")
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    os.environ["STRETCHWISE_NO_CACHE"] = "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import run

    with tempfile.TemporaryDirectory() as tmp:
        export(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        import importlib

        packages = {}
        for name, label in (("recbase", args.rev), ("recommender", "now")):
            for mod in ("knowledge", "engine", "reader", "routine", "render"):
                importlib.import_module(f"{name}.{mod}")
            packages[label] = sys.modules[name]
        raws = run.people(args.people)

        def setup(pkg: ModuleType) -> tuple[Any, ...]:
            kb = pkg.knowledge.load_knowledge()
            ans = [pkg.reader.read_answers(r, "ab", kb, json_only=True) for r in raws]
            infs = [pkg.engine.infer(kb, a) for a in ans]
            recs = [pkg.routine.assemble(kb, a, i) for a, i in zip(ans, infs)]
            return kb, ans, infs, recs, "".join(pkg.render.render_json(r) for r in recs)

        state = {label: setup(pkg) for label, pkg in packages.items()}
        digests = {label: hashlib.sha256(s[4].encode()).hexdigest()[:12] for label, s in state.items()}
        same = len(set(digests.values())) == 1
        print(f"outputs {'identical' if same else 'DIFFER'}: {digests}")
        parts = ("read", "engine", "routine", "json")
        times: dict[tuple[str, str], list[float]] = {(label, p): [] for label in state for p in parts}
        clock = time.perf_counter
        for _ in range(args.rounds):
            spent = {key: 0.0 for key in times}
            for i, raw in enumerate(raws):  # A and B take turns person by person: the same load for both
                for label, pkg in packages.items():
                    kb, ans, infs, recs, _ = state[label]
                    t0 = clock()
                    pkg.reader.read_answers(raw, "ab", kb, json_only=True)
                    t1 = clock()
                    pkg.engine.infer(kb, ans[i])
                    t2 = clock()
                    pkg.routine.assemble(kb, ans[i], infs[i])
                    t3 = clock()
                    pkg.render.render_json(recs[i])
                    t4 = clock()
                    for p, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                        spent[label, p] += dt
            for key, v in spent.items():
                times[key].append(v)
        a, b = state
        print(f"| part | {a} | now | ratio |")
        print("|---|---|---|---|")
        total = {a: 0.0, b: 0.0}
        for p in parts:
            x, y = (statistics.median(times[label, p]) / len(raws) * 1e6 for label in (a, b))
            total[a] += x
            total[b] += y
            print(f"| {p} | {x:.0f} µs | {y:.0f} µs | {x / y:.2f}x |")
        print(f"| all four | {total[a]:.0f} µs | {total[b]:.0f} µs | {total[a] / total[b]:.2f}x |")


if __name__ == "__main__":
    main()
