"""Save the README's phone-size screenshots of the web page (not a test).

    .venv/bin/python tests/web_screenshots.py        # writes docs/web-*.png

Runs the app on a free local port and drives Debian's Chromium at 390x844, as
tests/test_web_browser.py does."""

from __future__ import annotations

import socket
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import uvicorn
import yaml
from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from conftest import CHROMIUM, CHROMIUM_FLAGS, EXAMPLES  # noqa: E402
from test_web_browser import fill  # noqa: E402

from recommender.knowledge import load_knowledge  # noqa: E402
from recommender.web import create_app  # noqa: E402

DOCS = HERE.parent / "docs"


def main() -> None:
    kb = load_knowledge()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(kb), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    desk = yaml.safe_load((EXAMPLES / "desk-worker.yaml").read_text())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.clock.install(time=datetime(2026, 11, 30, 9, 0))
        # the fake clock holds CSS transitions still: without them the countdown bar shows as it is
        page.emulate_media(reduced_motion="reduce")
        page.goto(f"http://127.0.0.1:{port}/")
        fill(page, kb, desk)
        page.click("text=Show my routine")
        page.wait_for_selector("#follow-start")
        page.screenshot(path=DOCS / "web-routine-phone.png")
        page.locator("section.tracker").screenshot(path=DOCS / "web-tracker-phone.png")
        page.click("#follow-start")
        page.click("#follow-next")
        page.click("#follow-go")
        page.clock.run_for(12_000)
        page.screenshot(path=DOCS / "web-follow-along-phone.png")
        browser.close()
    server.should_exit = True
    for name in ("web-routine-phone.png", "web-tracker-phone.png", "web-follow-along-phone.png"):
        print(DOCS / name)


if __name__ == "__main__":
    main()
