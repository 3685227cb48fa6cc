"""Memory of a real `stretchwise serve` making PDFs (issue 19, item 2).

    python benchmarks/load_pdf.py [--warm-up 5] [--pdfs 60] [--json]

Starts `stretchwise serve`, asks for --warm-up PDFs of the routine page, then
--pdfs more, one after another. Prints the server's resident memory (RSS)
after the warm-up and at the end, and the same for the server together with
its PDF fork server and worker (replaced after 25 PDFs), and the median time
of one PDF.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_api import rss_kb  # noqa: E402
from load_slow import free_port, start_server  # noqa: E402

ANSWERS = {"areas": ["low_back", "neck"], "pain": 4, "duration_weeks": 8, "red_flags": [], "sitting_hours": 9}


def family(pid: int) -> list[int]:
    """The process and all its descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def family_rss_kb(pid: int) -> int:
    return sum(rss_kb(p) for p in family(pid))


def one_pdf(port: int) -> float:
    data = urllib.parse.urlencode({"answers": json.dumps(ANSWERS)}).encode()
    start = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/routine.pdf", data=data, timeout=60) as r:
        assert r.read().startswith(b"%PDF")
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-up", type=int, default=5)
    parser.add_argument("--pdfs", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    port = free_port()
    proc = start_server(port)
    try:
        for _ in range(args.warm_up):
            one_pdf(port)
        before, before_all = rss_kb(proc.pid), family_rss_kb(proc.pid)
        times = [one_pdf(port) for _ in range(args.pdfs)]
        after, after_all = rss_kb(proc.pid), family_rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    result = {
        "pdfs": args.pdfs,
        "server_rss_after_warm_up_mb": round(before / 1024, 1),
        "server_rss_at_end_mb": round(after / 1024, 1),
        "server_grew_mb": round((after - before) / 1024, 2),
        "with_pdf_processes_after_warm_up_mb": round(before_all / 1024, 1),
        "with_pdf_processes_at_end_mb": round(after_all / 1024, 1),
        "pdf_seconds_median": round(statistics.median(times), 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:36} {value}")


if __name__ == "__main__":
    main()
