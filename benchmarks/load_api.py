"""Load on `POST /api/recommend` of a real `stretchwise serve` (issue 19).

    python benchmarks/load_api.py [--clients 50] [--seconds 60] [--json]

Starts `stretchwise serve`, then --clients clients each send one request after
another on a kept-alive connection for --seconds: generated people, one in ten
with a red flag. Prints requests per second, the median and 99th-percentile
latency, errors (anything but a 200 with a version-1 recommendation), whether
every red flag was still referred with no routine, and the server's resident
memory (RSS) after a warm-up and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_slow import free_port, start_server  # noqa: E402

RED_FLAGS = ["saddle_numbness", "fever", "trauma", "night_pain", "cancer_history", "clumsy_hands_or_gait"]


def person(rng: random.Random) -> dict[str, object]:
    areas = [a for a in ("neck", "upper_back", "mid_back", "low_back") if rng.random() < 0.5] or ["low_back"]
    return {
        "areas": areas,
        "pain": rng.randint(0, 10),
        "duration_weeks": rng.randint(0, 30),
        "red_flags": [rng.choice(RED_FLAGS)] if rng.random() < 0.1 else [],
        "sitting_hours": rng.randint(0, 12),
        "posture": [p for p in ("forward_head", "rounded_shoulders") if rng.random() < 0.3],
        "stress": rng.choice(["low", "moderate", "high"]),
        "minutes": rng.choice([5, 10, 15, 20]),
    }


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


async def post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> tuple[int, bytes]:
    writer.write(b"POST /api/recommend HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    return status, await reader.readexactly(length)


async def client(n: int, port: int, until: float, out: dict[str, list]) -> None:
    rng = random.Random(n)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        answers = person(rng)
        start = loop.time()
        try:
            status, body = await post(reader, writer, json.dumps(answers).encode())
            rec = json.loads(body) if status == 200 else None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            out["errors"].append("connection")
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        out["latency"].append(loop.time() - start)
        if rec is None or rec.get("version") != 1:
            out["errors"].append(status)
        elif answers["red_flags"]:
            referred = rec["referral"]["level"] in ("urgent", "doctor_first") and rec["routine"] is None
            out["red_flags"].append(referred)
    writer.close()


async def run(port: int, clients: int, seconds: float) -> dict[str, list]:
    out: dict[str, list] = {"latency": [], "errors": [], "red_flags": []}
    until = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(*(client(n, port, until, out) for n in range(clients)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    port = free_port()
    proc = start_server(port)
    try:
        asyncio.run(run(port, 4, 3.0))  # warm-up: the routes, the engine, the caches
        rss_start = rss_kb(proc.pid)
        started = time.monotonic()
        out = asyncio.run(run(port, args.clients, args.seconds))
        elapsed = time.monotonic() - started
        rss_end = rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    latency = sorted(out["latency"])
    result = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(latency),
        "requests_per_second": round(len(latency) / elapsed, 1),
        "p50_ms": round(statistics.median(latency) * 1000, 1),
        "p99_ms": round(latency[int(len(latency) * 0.99)] * 1000, 1),
        "errors": len(out["errors"]),
        "red_flags_sent": len(out["red_flags"]),
        "red_flags_referred": sum(out["red_flags"]),
        "rss_start_mb": round(rss_start / 1024, 1),
        "rss_end_mb": round(rss_end / 1024, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:22} {value}")


if __name__ == "__main__":
    main()
