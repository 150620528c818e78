"""The web client's browser tests: the built app, a ready gateway, one flow in Chromium.

``tests/web`` starts the platform with the gateway serving a copy of
``web/dist`` and runs ``node web/e2e/run.mjs <flow>`` against it; these are the
pieces every such test module shares.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from guildhall_testsupport.platform import Platform

ROOT = Path(__file__).resolve().parents[4]
WEB = ROOT / "web"
DIST = WEB / "dist"
SCREENSHOTS = ROOT / ".local" / "web-screenshots"
CHROMIUM = Path(os.environ.get("GUILDHALL_CHROMIUM", "/usr/bin/chromium"))


def static_copy(workdir: Path) -> Path:
    """A copy of the build for one run's gateway (sign-in files go beside it)."""
    if not (DIST / "index.html").exists():
        pytest.fail("web/dist is not built: run `make web` (make test does)", pytrace=False)
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run `make chromium` (make test does)", pytrace=False)
    static = workdir / "static"
    shutil.copytree(DIST, static)
    return static


def gateway_ready(base_url: str, within: float = 60.0) -> None:
    """Waits until the gateway's /readyz answers 200; fails the test after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as reply:  # noqa: S310 - our 127.0.0.1 gateway
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gateway at {base_url} never ready")
        time.sleep(0.3)


async def run_flow(config_path: Path, flow: str, platform: Platform) -> None:
    """Runs one flow of web/e2e/run.mjs; fails with its output and the gateway's log."""
    env = dict(os.environ, GUILDHALL_E2E=str(config_path))
    proc = await asyncio.create_subprocess_exec(
        "node",
        "e2e/run.mjs",
        flow,
        cwd=WEB,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    print(text)
    gateway_log = platform.log("gateway")
    assert proc.returncode == 0, f"{flow} failed:\n{text}\n--- gateway log:\n{gateway_log}"
    assert f"PASS {flow}" in text
