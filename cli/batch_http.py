"""The batch CLI's HTTP side: one `requests` session whose retries (connection errors, 429 and 5xx, with
`Retry-After` honoured) are urllib3's `Retry`, and a follower of a batch's SSE stream that reconnects
with `Last-Event-ID`."""
from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# 429 and 503 carry Retry-After (urllib3 sleeps for it); other 5xx back off exponentially. POSTs are
# retried too: items are keyed (a repeated key maps to its job) and batch creation sends an
# Idempotency-Key, so a repeat never makes a second job.
RETRY = Retry(total=10, connect=5, read=3, status=8, backoff_factor=0.5, backoff_max=10,
              status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None,
              respect_retry_after_header=True, raise_on_status=False)


def session(token: str | None = None) -> requests.Session:
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=RETRY)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    if token:
        http.headers["Authorization"] = f"Bearer {token}"
    return http


def guest_token(url: str) -> str:
    """A guest token from `POST /auth/guest` (201 Created; 200 from a replay)."""
    with session() as http:
        try:
            r = http.post(url.rstrip("/") + "/auth/guest", timeout=10)
        except requests.RequestException as exc:
            raise RuntimeError(f"no VoiceMock server answers at {url} ({exc.__class__.__name__})") from exc
    if r.status_code not in (200, 201):
        try:
            reason = r.json().get("error")
        except ValueError:
            reason = r.text[:200]
        raise RuntimeError(f"guest sign-in failed at {url} ({r.status_code}: {reason}); pass --token "
                           "(`voicemock token create --user you@example.com`)")
    return r.json()["data"]["token"]


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.http = session(token)

    def call(self, method: str, path: str, *, idempotent_key: bool = False, **kw: Any) -> tuple[int, dict]:
        """One request; the session's Retry handles connection errors, 429 (after Retry-After) and 5xx."""
        headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotent_key else {}
        r = self.http.request(method, self.url + path, timeout=30, headers=headers, **kw)
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, {"error": r.text[:200]}


class Follower:
    """Reads `GET /api/batches/{id}/events` on a thread and hands `(type, data)` pairs to a queue;
    reconnects after a drop with the last event id, so nothing is missed or repeated. `None` on the
    queue: the stream ended (the batch completed); an exception: it could not be followed."""

    def __init__(self, api: Api, batch_id: str) -> None:
        self.api, self.batch_id = api, batch_id
        self.events: queue.Queue[tuple[str, dict] | Exception | None] = queue.Queue()
        self.last_id = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="batch-events", daemon=True)

    def start(self) -> "Follower":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        failures = 0
        while not self.stopped.is_set():
            try:
                if self._read_once():
                    self.events.put(None)
                    return
                failures = 0
            except (requests.RequestException, ValueError) as exc:
                failures += 1
                if failures > 8:
                    self.events.put(RuntimeError(f"lost the batch's event stream: {exc}"))
                    return
                self.stopped.wait(min(0.5 * 2 ** failures, 10))

    def _read_once(self) -> bool:
        """Follow until the server closes the stream; True when the batch is over."""
        headers = {"Accept": "text/event-stream"}
        if self.last_id:
            headers["Last-Event-ID"] = str(self.last_id)
        path = f"{self.api.url}/api/batches/{self.batch_id}/events"
        with self.api.http.get(path, headers=headers, stream=True, timeout=(10, 90)) as r:
            if r.status_code == 204:
                return True  # we already hold the final event
            if r.status_code != 200:
                raise ValueError(f"HTTP {r.status_code}")
            ev_id, ev_type, data = None, "message", []
            for line in r.iter_lines(decode_unicode=True):
                if self.stopped.is_set():
                    return False
                if line == "":
                    if data:
                        self.last_id = ev_id or self.last_id
                        self.events.put((ev_type, json.loads("\n".join(data))))
                        if ev_type in ("succeeded", "failed", "cancelled"):
                            return True
                    ev_id, ev_type, data = None, "message", []
                elif line.startswith("id:"):
                    ev_id = int(line[3:].strip())
                elif line.startswith("event:"):
                    ev_type = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        return False  # closed without the final event: reconnect
