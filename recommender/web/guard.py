"""What every response of the web app carries, and what no request may exceed.

Health answers are sensitive, so the pages load nothing from anywhere but this
server (``Content-Security-Policy: default-src 'self'``), may not be framed,
send no referrer and are never cached. Request bodies are capped: an answers
form is a few kilobytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

#: The largest request body accepted; a filled form or an answers file is a few kB.
MAX_BODY = 64 * 1024

#: The policy every page gets; a page with an inline style (the printable sheet
#: has one) adds that style's hash with ``csp(styles=...)``.
BASE_POLICY = (
    "default-src 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def csp(styles: list[str] | None = None) -> str:
    """The Content-Security-Policy header, allowing exactly the given inline styles."""
    policy = list(BASE_POLICY)
    if styles:
        policy.append("style-src 'self' " + " ".join(f"'{style_hash(s)}'" for s in styles))
    return "; ".join(policy)


def style_hash(text: str) -> str:
    """The CSP source of an inline ``<style>`` element's text."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def inline_styles(html: str) -> list[str]:
    """The text of every ``<style>`` element in a page we wrote from a template."""
    return re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)


class SecurityHeaders:
    """ASGI middleware: the security headers on every response (a route may set its own CSP)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in headers}
                wanted = dict(HEADERS)
                wanted["content-security-policy"] = csp()
                # Answers are health data: no page that could hold them is kept by a cache;
                # only a static file that was found may be (a 404 or 405 must not be kept)
                cacheable = static and message.get("status") == 200
                wanted["cache-control"] = "public, max-age=3600" if cacheable else "no-store"
                for name, value in wanted.items():
                    if name not in present:
                        headers.append((name.encode("latin-1"), value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class LimitBody:
    """ASGI middleware: read the request body up to ``limit`` bytes; past that, 413."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(scope, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > self.limit:
                await self._too_large(scope, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)

    async def _too_large(self, scope: dict[str, Any], send: Any) -> None:
        said = f"larger than {self.limit // 1024} kB; answers are a few kB"
        if scope.get("path", "").startswith("/api/"):
            body = json.dumps(
                {"ok": False, "errors": [{"field": "(body)", "message": f"the request is {said}"}]}
            )
            kind = b"application/json"
        else:
            body = f"The request is {said}.\n"
            kind = b"text/plain; charset=utf-8"
        data = body.encode("utf-8")
        headers = [
            (b"content-type", kind),
            (b"content-length", str(len(data)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": data})
