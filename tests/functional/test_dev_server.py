"""`voicemock dev` as a user runs it, in front of the local OpenAI-compatible test server: the official
`openai` SDK streams a completion through `/v1` with a guest token as its API key; every request has one
access-log line (method, path, status, duration, request id); the scheduled sweeper and retention run
without Dramatiq's "returned a value … Results middleware" warning. In production the access line is
structlog JSON."""
from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import openai
import pytest
import requests
import structlog

from tests.support.client import ApiClient
from tests.support.fake_openai import FakeOpenAI

ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dev:
    base: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen
    fake: FakeOpenAI

    def text(self) -> str:
        return self.log.read_text()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    tmp = tmp_path_factory.mktemp("dev")
    fake = FakeOpenAI.start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEMOCK_", "DATABASE_URL", "REDIS_URL",
                                                                     "BROKER_URL", "OPENAI_"))}
    env.update(PYTHONPATH=str(ROOT), VOICEMOCK_DATA_DIR=str(tmp / "data"), VOICEMOCK_PRELOAD_STT="0",
               OPENAI_API_KEY="sk-fake", OPENAI_BASE_URL=fake.url,
               VOICEMOCK_SCHEDULE_CRONS="sweeper=* * * * * * *;retention=* * * * * * *")  # every second
    log = tmp / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "dev", "--port", str(port)], env=env, cwd=tmp,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield Dev(base, env, log, proc, fake)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        fake.stop()


def test_the_openai_sdk_streams_through_voicemock_dev(dev: Dev) -> None:
    r = requests.post(dev.base + "/auth/guest", timeout=10)
    assert r.status_code == 201, r.text
    sdk = openai.OpenAI(base_url=dev.base + "/v1", api_key=r.json()["data"]["token"], max_retries=0)
    chunks = list(sdk.chat.completions.create(model="gpt-4o-mini", stream=True,
                                              stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "Rate my answer please."}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Fake model reply to: Rate my answer please.", "the installation's OpenAI provider answered"
    assert chunks[-1].usage.total_tokens > 0
    assert dev.fake.chat_requests()[-1].body["stream"] is True


def test_each_request_has_an_access_line_and_sweeps_are_quiet(dev: Dev) -> None:
    r = requests.get(dev.base + "/healthz", headers={"X-Request-ID": "req-access-log-1"}, timeout=5)
    assert r.status_code == 200
    assert requests.get(dev.base + "/api/jobs", timeout=5).status_code == 401
    # scheduled retention runs leave receipts: wait for two, so sweeps and retention ran through the worker
    token = subprocess.run([sys.executable, "-m", "cli.main", "token", "create", "--user", "ops@example.com",
                            "--admin"], env=dev.env, capture_output=True, text=True, timeout=60).stdout.strip()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = requests.get(dev.base + "/api/retention/receipts", headers={"Authorization": f"Bearer {token}"},
                           timeout=5)
        assert got.status_code == 200, got.text
        if len(got.json()["data"]["receipts"]) >= 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no scheduled retention ran")
    time.sleep(1.5)  # one more tick of each, so a warning after a run would be in the log by now
    text = dev.text()
    assert f"data in {dev.env['VOICEMOCK_DATA_DIR']}/ (chosen by VOICEMOCK_DATA_DIR" in text
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
