"""How ``stretchwise serve`` runs uvicorn, and what it does against slow or many clients.

uvicorn closes an idle kept-alive connection, but has no time limit on reading
a request: a client that sends its headers or its body a byte a second keeps
its connection, and a file descriptor, for ever, and about a thousand of them
stop all service. So ``serve`` uses uvicorn's HTTP/1.1 protocol with three
additions (``GuardedProtocol``):

- a request's headers and body must all arrive within ``REQUEST_SECONDS`` of
  its first byte (or of the connection's opening); a late one gets 408 and its
  connection is closed;
- at most ``connection_cap()`` connections are open at once, below the
  process's open-file limit; when a new one would pass the cap, the connection
  that has waited longest for its request is closed to make room (one whose
  request is being answered is never closed);
- a 400 or 408 is sent, then the sending side is shut and whatever the client
  still sends is read and dropped for ``LINGER_SECONDS`` before the close (a
  lingering close): closing with unread bytes would reset the connection, and a
  reset can destroy the reply before the client reads it;
- uvicorn's own 400 for a request it cannot parse carries the security
  headers every other response carries (``recommender.web.guard``).

Repeated warnings (a flood of bad requests, or the event loop failing to
accept connections) are logged once per ``LOG_WINDOW`` seconds with a count
(``Repeats``). ``uvicorn_options`` is the whole configuration, in one place.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from typing import Any

import h11
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from .guard import HEADERS, csp

#: Seconds a request's headers and body may take to arrive, from its first byte.
REQUEST_SECONDS = 15.0
#: Seconds an idle kept-alive connection stays open.
KEEP_ALIVE_SECONDS = 5
#: The largest request head (request line and headers) read; past it, 400.
MAX_HEAD_BYTES = 16 * 1024
#: The listening queue; asyncio also accepts up to this many connections at once.
BACKLOG = 64
#: Open connections at most, whatever the open-file limit.
MAX_CONNECTIONS = 1000
#: File descriptors kept for the process itself (logs, the PDF worker, the knowledge).
RESERVED_FILES = 48
#: A repeated warning is logged once per this many seconds.
LOG_WINDOW = 10.0
#: Seconds a connection given a 400 or 408 stays open for reading (and discarding)
#: after the reply, so that bytes the client is still sending do not make the
#: kernel reset the connection and throw the reply away unread.
LINGER_SECONDS = 2.0


def connection_cap(open_files: int | None = None) -> int:
    """How many connections may be open at once: below the open-file limit, with room
    for one burst of accepts and the process's own files."""
    if open_files is None:
        try:
            import resource
        except ImportError:  # not a Unix
            return MAX_CONNECTIONS
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        open_files = MAX_CONNECTIONS * 2 if soft == resource.RLIM_INFINITY else soft
    return max(8, min(MAX_CONNECTIONS, open_files - BACKLOG - RESERVED_FILES))


def _security_headers() -> list[tuple[bytes, bytes]]:
    wanted = {**HEADERS, "content-security-policy": csp(), "cache-control": "no-store"}
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in wanted.items()]


class GuardedProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request and a cap on connections."""

    request_seconds: float = REQUEST_SECONDS
    _cap: int | None = None  # per process, on the first connection

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._deadline: Any = None
        self._linger: Any = None  # the close, while a 400 or 408 lingers
        self._waiting_since = self.loop.time()
        self._arm()
        self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._linger is not None:  # answered and shut: what still comes is dropped
            return
        if self._deadline is None and self.conn.their_state is h11.IDLE:  # the next request begins
            self._waiting_since = self.loop.time()
            self._arm()
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):  # all of it is here (or it is over)
            self._disarm()

    def on_response_complete(self) -> None:
        self._waiting_since = self.loop.time()  # an idle kept-alive connection waits from now
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        self._reply_and_close(400, msg)

    # ------------------------------------------------------------------ the deadline

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        started = self.conn.their_state is h11.SEND_BODY or bool(self.conn.trailing_data[0])
        if not started:  # nothing sent at all: close quietly, as for an idle kept-alive connection
            self.transport.close()
            return
        self.logger.warning("Closed a connection whose request did not arrive within %d s.", self.request_seconds)
        answered = self.conn.their_state is h11.SEND_BODY and self.cycle.response_started  # a 413, say
        self._reply_and_close(408, f"The request did not arrive within {self.request_seconds:.0f} s.", not answered)

    def _reply_and_close(self, status: int, text: str, write: bool = True) -> None:
        """A plain-text reply with the security headers, written past h11, then close."""
        body = (text + "\n").encode("utf-8")
        reason = {400: b"Bad Request", 408: b"Request Timeout"}[status]
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *_security_headers(),
        ]
        head = b"HTTP/1.1 %d %s\r\n" % (status, reason) + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
        if not write:
            self.transport.close()
            return
        self.transport.write(head + b"\r\n" + body)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()  # sent once the reply is out
        self._disarm()
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    # ------------------------------------------------------------------ the cap

    def _waiting(self) -> bool:
        """Still waiting for its request (or idle between requests): no answer is under way."""
        if self.transport.is_closing():
            return False
        if self._linger is not None:
            return True
        if self.conn.their_state is h11.IDLE:
            return self.cycle is None or self.cycle.response_complete
        return self.conn.their_state is h11.SEND_BODY and not self.cycle.response_started

    def _make_room(self) -> None:
        cls = type(self)
        if cls._cap is None:
            cls._cap = connection_cap()
        open_now = [c for c in self.connections if not c.transport.is_closing()]
        if len(open_now) <= cls._cap:
            return
        waiting = [c for c in open_now if isinstance(c, GuardedProtocol) and c is not self and c._waiting()]
        if waiting:
            oldest = min(waiting, key=lambda c: c._waiting_since)
            self.logger.warning("At the limit of %d connections: closed the one waiting longest.", cls._cap)
            oldest.transport.close()
        else:
            self.logger.warning("At the limit of %d connections, all busy: refused a new one.", cls._cap)
            self.transport.close()


class Repeats(logging.Filter):
    """Lets a warning or error through once per ``seconds``; the next one after that says
    how many like it were held back. Other records pass."""

    def __init__(self, seconds: float = LOG_WINDOW) -> None:
        super().__init__()
        self.seconds = seconds
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        with self._lock:
            start, held = self._seen.get(key, (None, 0))
            if start is not None and now - start < self.seconds:
                self._seen[key] = (start, held + 1)
                return False
            if len(self._seen) > 1000:  # messages that carry details: forget, do not grow
                self._seen.clear()
            self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.getMessage()} ({held} more like this in {self.seconds:g} s not shown)"
            record.args = None
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with repeated warnings held back, asyncio's included."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"repeats": {"()": Repeats}}
    config["handlers"]["default"]["filters"] = ["repeats"]
    config["loggers"]["asyncio"] = {"handlers": ["default"], "level": "WARNING", "propagate": False}
    return config


def exit_cleanly_on_sigterm() -> None:
    """On SIGTERM, once uvicorn has shut down (it raises the signal again with the handler it
    found), exit through Python's normal exit (143), so the exit handlers run: the PDF fork
    server's socket folder in the temporary folder is removed, as after Ctrl-C."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def uvicorn_options(host: str, port: int) -> dict[str, Any]:
    """Everything ``serve`` passes to ``uvicorn.run`` besides the app."""
    return {
        "host": host,
        "port": port,
        "http": GuardedProtocol,
        "ws": "none",
        "backlog": BACKLOG,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": 10,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "server_header": False,
        "proxy_headers": False,
        "log_level": "info",
        "log_config": log_config(),
    }
