"""`voicemock batch resume-generate` as a user runs it: guest sign-in, Ctrl-C with a summary and the command
that resumes, and its HTTP retries honouring `Retry-After` (urllib3 `Retry`)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from tests.support.client import ApiClient

RESUME = "Jane Doe\njane@example.com\nExperience\nBuilt Flask APIs for 2 million users\nSkills\nPython, Flask"
ROOT = Path(__file__).parents[2]


def _input(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"jd-{i:03d}", "job_description": f"Backend engineer {i}: "
                                                                                  "Python, Flask, Redis."}) + "\n"
                            for i in range(n)))
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", "batch", "resume-generate", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@contextmanager
def _guests_allowed(platform) -> Iterator[None]:  # noqa: ANN001
    state = platform.app.extensions["voicemock"]
    before = state.settings
    state.settings = before.replace(allow_guest=True)
    try:
        yield
    finally:
        state.settings = before


def test_without_a_token_the_cli_signs_in_as_a_guest_and_a_rerun_keeps_that_guest(platform, tmp_path: Path) -> None:  # noqa: ANN001
    resume = tmp_path / "cv.txt"
    resume.write_text(RESUME)
    args = _cli(str(_input(tmp_path / "in.jsonl", 3)), "--out", str(tmp_path / "out"), "--url", platform.base_url,
                "--resume", str(resume))
    with _guests_allowed(platform):
        first = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        state = json.loads((tmp_path / "out" / ".voicemock-batch.json").read_text())
        assert {v["status"] for v in state["items"].values()} == {"succeeded"} and state["guest_token"]
        again = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert json.loads((tmp_path / "out" / ".voicemock-batch.json").read_text())["batch_id"] == state["batch_id"]


def test_ctrl_c_prints_the_summary_so_far_and_the_command_that_resumes(client: ApiClient, tmp_path: Path) -> None:
    resume, out = tmp_path / "cv.txt", tmp_path / "out"
    resume.write_text(RESUME)
    args = _cli(str(_input(tmp_path / "in.jsonl", 300)), "--out", str(out), "--url", client.base_url,
                "--token", client.token, "--resume", str(resume), "-c", "2")
    # Ctrl-C as a terminal sends it: SIGINT at its default in the CLI, even when this test runs where
    # SIGINT is ignored (a shell's background job), which the CLI would otherwise inherit.
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            items = json.loads((out / ".voicemock-batch.json").read_text())["items"]
        except (FileNotFoundError, ValueError):
            items = {}
        if sum(v.get("status") == "succeeded" for v in items.values()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "succeeded" in stdout and "pending" in stdout and "total" in stdout, stdout
    assert "Run the same command again" in stderr and "voicemock batch resume-generate" in stderr
    assert '--token "$VOICEMOCK_TOKEN"' in stderr and client.token not in stderr
    assert "Aborted!" not in stderr


class _Limited(BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        first = len(type(self).hits) == 1
        body = json.dumps({"data": None if first else {"ok": True}, "error": "slow down" if first else None}).encode()
        self.send_response(429 if first else 200)
        if first:
            self.send_header("Retry-After", "2")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_requests_wait_as_long_as_retry_after_says(monkeypatch) -> None:  # noqa: ANN001
    from urllib3.util.retry import Retry

    from cli.batch_http import Api

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Limited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slept: list[float] = []
    # record the wait urllib3 would make for Retry-After (instead of making it; never patch time.sleep,
    # which other threads of this process use)
    monkeypatch.setattr(Retry, "sleep_for_retry",
                        lambda self, response: slept.append(self.get_retry_after(response)) or True)
    try:
        status, body = Api(f"http://127.0.0.1:{server.server_port}", "t").call("GET", "/api/jobs/x")
    finally:
        server.shutdown()
    assert status == 200 and body["data"] == {"ok": True}
    assert len(_Limited.hits) == 2 and slept == [2.0], "one retry, after the server's Retry-After"
    _Limited.hits.clear()
