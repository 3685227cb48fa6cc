"""Slow clients against `stretchwise serve` with few open files (issue 19, item 3).

    python benchmarks/load_slow.py [--clients 300] [--files 256] [--seconds 25] [--json]
    python benchmarks/load_slow.py --baseline      # plain uvicorn.run(app), for comparison

Starts `stretchwise serve` with its open-file limit (RLIMIT_NOFILE) set to
--files, then keeps --clients connections open that send a request one byte a
second: half drip the request head, half send a head promising a body and drip
the body. A client whose connection is closed opens a new one after --again
seconds (1 s: a slowloris tool's pace), so the pressure never lets up. Meanwhile a normal `GET /` is timed every two seconds.

It prints how long each `GET /` took (the slowest must stay well under 40 s),
how the slow connections ended (408 after the request deadline, or closed to
make room for a newer one) and how long the longest lived, the server's open
files at most, and how much it logged. With --json the same as one JSON object
(tests/test_reliability.py runs it that way).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = (
    "import sys, uvicorn; from recommender.web import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='info')"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, files: int | None = None, baseline: bool = False,
                 log: object = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """`stretchwise serve` on 127.0.0.1:port (or plain uvicorn), answering `GET /`; its
    open-file limit set to `files` when given."""
    def limit() -> None:
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    if baseline:
        cmd = [sys.executable, "-c", BASELINE, str(port)]
    else:
        cmd = [sys.executable, "-m", "recommender", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=limit)  # type: ignore[arg-type]
    end = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            return proc
        except OSError:
            if time.monotonic() > end or proc.poll() is not None:
                proc.kill()
                raise SystemExit("the server did not start")
            time.sleep(0.3)


async def slow_client(n: int, port: int, again: float, stop: asyncio.Event, ends: list[tuple[float, bytes]]) -> None:
    """One client that never finishes a request, and comes back whenever it is closed."""
    loop = asyncio.get_running_loop()
    if n % 2:
        head, drip = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", b"a"
    else:
        head = b"POST /api/recommend HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
        drip = b" "
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        opened = loop.time()
        reply = asyncio.ensure_future(reader.read(64))
        try:
            writer.write(head[:1])
            rest = head[1:] if n % 2 else b""
            if not n % 2:
                writer.write(head[1:])
            while not stop.is_set() and not reply.done():
                await asyncio.wait([reply], timeout=1.0)
                if reply.done():
                    break
                writer.write(rest[:1] if rest else drip)
                rest = rest[1:]
                await writer.drain()
        except OSError:
            pass
        if stop.is_set():
            reply.cancel()
            writer.close()
            return
        try:
            said = await asyncio.wait_for(reply, 5)
        except (OSError, asyncio.TimeoutError):
            said = b""
        ends.append((loop.time() - opened, said))
        writer.close()
        await asyncio.sleep(again)


def timed_get(port: int, timeout: float) -> float | None:
    start = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as r:
            r.read()
            if r.status != 200:
                return None
    except OSError:
        return None
    return time.monotonic() - start


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


async def run(port: int, pid: int, clients: int, again: float, seconds: float, timeout: float) -> dict[str, object]:
    stop = asyncio.Event()
    ends: list[tuple[float, bytes]] = []
    tasks = [asyncio.ensure_future(slow_client(n, port, again, stop, ends)) for n in range(clients)]
    gets: list[float | None] = []
    most_files = 0
    start = time.monotonic()
    await asyncio.sleep(3)  # let every slow client connect first
    while time.monotonic() - start < seconds:
        got = asyncio.ensure_future(asyncio.to_thread(timed_get, port, timeout))
        while not got.done():
            most_files = max(most_files, open_files(pid))
            await asyncio.wait([got], timeout=1.0)
        gets.append(got.result())
        await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    answered = [g for g in gets if g is not None]
    return {
        "clients": clients,
        "gets": len(gets),
        "gets_answered": len(answered),
        "get_seconds_median": round(statistics.median(answered), 3) if answered else None,
        "get_seconds_max": round(max(answered), 3) if answered else None,
        "slow_closed": len(ends),
        "slow_closed_with_408": sum(1 for _, said in ends if said.startswith(b"HTTP/1.1 408")),
        "slow_closed_without_reply": sum(1 for _, said in ends if not said),
        "slow_longest_life_seconds": round(max((t for t, _ in ends), default=0.0), 1),
        "server_open_files_max": most_files,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--files", type=int, default=256, help="the server's open-file limit")
    parser.add_argument("--seconds", type=float, default=25.0, help="how long the slow clients keep at it")
    parser.add_argument("--again", type=float, default=1.0, help="seconds before a closed client opens a new connection")
    parser.add_argument("--timeout", type=float, default=40.0, help="how long one GET / may take")
    parser.add_argument("--baseline", action="store_true", help="plain uvicorn.run(app), without serve's guards")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.clients + 200
    if soft < want:  # this process holds one socket per slow client
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = start_server(port, args.files, args.baseline, log)
        try:
            result = asyncio.run(run(port, proc.pid, args.clients, args.again, args.seconds, args.timeout))
            result["server_alive"] = proc.poll() is None
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)
        logged = log.read()
    result.update(files=args.files, seconds=args.seconds, again=args.again, server_log_bytes=len(logged),
                  server_log_lines=logged.count(b"\n"), baseline=args.baseline)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
