"""`voicemock dev` logs one access line per request (method, path, status, duration, request id) and the
scheduled sweeper runs without Dramatiq's "returned a value … Results middleware" warning; in production the
same access line is structlog JSON."""
from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import structlog

from tests.support.client import ApiClient

ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_dev_server_logs_each_request_and_sweeps_quietly(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEMOCK_", "DATABASE_URL", "REDIS_URL"))}
    env.update(PYTHONPATH=str(ROOT), VOICEMOCK_DATA_DIR=str(tmp_path / "data"), VOICEMOCK_PRELOAD_STT="0",
               VOICEMOCK_SCHEDULE_CRONS="sweeper=* * * * * * *;retention=* * * * * * *")  # every second
    log = (tmp_path / "dev.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "dev", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()
                time.sleep(0.1)
        r = requests.get(base + "/healthz", headers={"X-Request-ID": "req-access-log-1"}, timeout=5)
        assert r.status_code == 200
        assert requests.get(base + "/api/jobs", timeout=5).status_code == 401
        # scheduled retention runs leave receipts: wait for two, so sweeps and retention ran through the worker
        token = subprocess.run([sys.executable, "-m", "cli.main", "token", "create", "--user", "ops@example.com",
                                "--admin"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        admin = {"Authorization": f"Bearer {token.stdout.strip()}"}
        while time.monotonic() < deadline:
            got = requests.get(base + "/api/retention/receipts", headers=admin, timeout=5)
            assert got.status_code == 200, got.text
            if len(got.json()["data"]["receipts"]) >= 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("no scheduled retention ran")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = Path(log.name).read_text()
    assert f"data in {tmp_path / 'data'}/ (chosen by VOICEMOCK_DATA_DIR" in text
    line = next(x for x in text.splitlines() if "req-access-log-1" in x)
    for part in ("request", "method=GET", "path=/healthz", "status=200", "duration_ms=", "request_id=req-access-log-1"):
        assert part in line, line
    assert any("path=/api/jobs" in x and "status=401" in x for x in text.splitlines())
    assert "returned a value" not in text and "Results middleware" not in text, text[-2000:]


def test_production_access_lines_are_json_with_the_request_id(anon: ApiClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.JSONRenderer()]))
    access = logging.getLogger("voicemock.access")
    before = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        assert anon.get("/healthz", headers={"X-Request-ID": "req-access-json-1"}).status_code == 200
    finally:
        access.removeHandler(handler)
        access.setLevel(before)
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if "req-access-json-1" in x]
    assert lines and lines[0]["event"] == "request" and lines[0]["status"] == 200
    assert lines[0]["method"] == "GET" and lines[0]["path"] == "/healthz" and lines[0]["duration_ms"] >= 0
