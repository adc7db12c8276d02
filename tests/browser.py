"""Headless Chromium for the browser tests, driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
no driver, no port), so a test can read what a person would see: the DOM after the page's scripts ran, computed
styles, sizes at a given window width, and every request the page made.

``offline=True`` (the default) cuts the network as an auditor's machine without internet has it: every host name
resolves to nothing but localhost (``--host-resolver-rules``) and every http(s) request goes to a proxy that does
not exist (127.0.0.1:9), so a page that needs anything from outside shows it, and ``requests`` lists what it asked.
Chromium's flags are the ones this machine needs (docs: no background networking, no sandbox as root).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OFFLINE_FLAGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
    "--proxy-server=http://127.0.0.1:9",
]


def require_chromium() -> str:
    """Chromium's path; the test is skipped where it is not installed, and fails in CI (.ci/run installs it)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


class Browser:
    """One Chromium process and one page. ``open(url)`` loads a page and waits for it to settle."""

    def __init__(self, profile: Path, width: int = 1366, height: int = 900, offline: bool = True):
        chromium = require_chromium()
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()
        flags = [*FLAGS, *(OFFLINE_FLAGS if offline else []), f"--user-data-dir={profile}", "--remote-debugging-pipe"]
        # Chromium reads the protocol on fd 3 and writes it on fd 4.
        self._process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome} 4>&{from_chrome}', chromium, *flags, "about:blank"],
            pass_fds=(to_chrome, from_chrome),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer, self._next_id, self.events = b"", 0, []
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):  # it may be gone already
            self._call("Browser.close")
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._write)
        os.close(self._read)

    # ------------------------------------------------------------------------------------------------ protocol

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        """A command to the page's session; returns its result."""
        return self._call(method, params, timeout, self._session)

    def _call(self, method: str, params: dict | None = None, timeout: float = 60, session: str | None = None):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the protocol pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._receive(deadline))
        except TimeoutError:
            pass

    # ------------------------------------------------------------------------------------------------ the page

    def open(self, url: str, settle: float = 1.5, timeout: float = 60) -> None:
        """Load ``url``, wait for its load event, then ``settle`` seconds of quiet for its scripts."""
        self.events = []
        navigated = self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        # a new document fires a load event; a change of the #fragment only (loaderId absent) does not
        while "loaderId" in navigated and not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._receive(deadline))
        self._drain(settle)

    def evaluate(self, expression: str):
        """A JavaScript expression's value in the page (JSON-able), promises awaited."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    @property
    def requests(self) -> list[str]:
        """Every URL the page asked for since it was opened (documents, styles, scripts, fonts, images, XHR)."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    @property
    def failed_requests(self) -> list[str]:
        ids = {
            e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        }
        return [
            ids.get(e["params"]["requestId"], "?") for e in self.events if e.get("method") == "Network.loadingFailed"
        ]

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params = {"format": "png", "captureBeyondViewport": full_page}
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", params)["data"]))
        return path


def leaves_the_machine(url: str) -> bool:
    """A request that would go out: anything but a local file, inline data or the browser's own pages."""
    return not url.startswith(
        ("file://", "data:", "about:", "blob:", "chrome:", "http://127.0.0.1", "http://localhost")
    )
