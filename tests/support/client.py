"""A small HTTP client for tests: bearer auth, envelope helpers, job waiting and SSE reading."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class SSEEvent:
    id: int | None
    type: str
    data: dict


@dataclass
class ApiClient:
    base_url: str
    token: str | None
    session: requests.Session = field(default_factory=requests.Session)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**h, **(extra or {})}

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, auth: bool = True,
                **kw: Any) -> requests.Response:
        h = self.headers(headers) if auth else (headers or {})
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, headers=h, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.get(f"/api/jobs/{job_id}")
            assert r.status_code == 200, r.text
            job = r.json()["data"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")

    def sse(self, path: str, *, last_event_id: int | None = None, timeout: float = 60.0, auth: bool = True,
            max_events: int | None = None) -> list[SSEEvent]:
        """Read an SSE stream until the server closes it (or max_events)."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        events: list[SSEEvent] = []
        with self.request("GET", path, headers=headers, auth=auth, stream=True, timeout=(5, timeout)) as r:
            assert r.status_code == 200, r.text
            assert r.headers["Content-Type"].startswith("text/event-stream")
            ev_id, ev_type, data = None, "message", []
            for line in r.iter_lines(decode_unicode=True):
                if line == "":
                    if data:
                        events.append(SSEEvent(ev_id, ev_type, json.loads("\n".join(data))))
                        if max_events and len(events) >= max_events:
                            break
                    ev_id, ev_type, data = None, "message", []
                elif line.startswith("id:"):
                    ev_id = int(line[3:].strip())
                elif line.startswith("event:"):
                    ev_type = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        return events


def data(resp: requests.Response) -> Any:
    body = resp.json()
    assert body["error"] is None, body
    return body["data"]
