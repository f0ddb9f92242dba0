"""Helpers for the contract tests: the three seed documents' examples, sent exactly as printed.

Each test module covers one document (`000_…` VoiceMock headers, `001_…` shared headers and
conventions, `004_…` the API); each test names the section and paragraph it covers. The only thing a
test adds to a printed request is the caller's credentials where the document says the route needs
them (document 004, "Authentication"; document 001, "Auth"), and real ids where it prints `[id]`.
"""
from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import requests

from tests.support.client import ApiClient, data

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# Document 004, "Create Interview" / "Add Message": the request bodies as printed.
CREATE_INTERVIEW = {"role": "Software Engineer", "type": "technical", "difficulty": "medium"}
ADD_MESSAGE = {"role": "assistant", "content": "Tell me about a time you solved a difficult problem."}
# Not printed in the document (it shows only the interviewer's turn): a candidate's answer to it.
ANSWER = {"role": "user", "content": "Our checkout API got slow after a launch, so I measured it first: p99 latency "
                                     "had doubled because of a missing index. I added the index, load-tested it and "
                                     "rolled it out behind a flag. As a result p99 fell by 60 percent, and I added "
                                     "an alert so we would catch it earlier next time."}


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def envelope(resp: requests.Response) -> dict:
    """The documented envelope: `data`, `error`, `request_id` (equal to the X-Request-ID header)."""
    body = resp.json()
    assert {"data", "error", "request_id"} <= set(body), body
    assert resp.headers["X-Request-ID"] == body["request_id"]
    return body


def answered_interview(client: ApiClient) -> str:
    """An interview made from document 004's examples, with the interviewer's question answered."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    assert client.post(f"/api/interviews/{iid}/messages", json=ADD_MESSAGE).status_code == 201
    assert client.post(f"/api/interviews/{iid}/messages", json=ANSWER).status_code == 201
    return iid


def wait_job(base_url: str, job_id: str, headers: dict[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """Poll a job's status_url with whatever credentials the caller holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(f"{base_url}/api/jobs/{job_id}", headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        job = r.json()["data"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")
