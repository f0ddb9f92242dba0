"""`voicemock dev` (embedded mode) in a subprocess, for the browser tests: started on a free port with
its own data directory, waited for on /healthz, stopped afterwards."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests


CHROMIUM = os.environ.get("VOICEMOCK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def need_browser() -> None:
    """Playwright and a Chromium: a skip on a laptop without them, a failure when CI is set."""
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package"
    if not CHROMIUM:
        missing = "chromium"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} is required when CI is set", pytrace=False)
        pytest.skip(f"{missing} is not installed")


@contextmanager
def embedded_dev_server(data_dir: Path, **env_vars: str) -> Iterator[str]:
    """Yields the base URL. `env_vars` are added to the environment (without the production URLs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")}
    env.update(VOICEMOCK_DATA_DIR=str(data_dir), VOICEMOCK_LOG_LEVEL="WARNING", **env_vars)
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(Path(sys.executable).with_name("voicemock")), "dev", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"voicemock dev did not start: {(data_dir / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
