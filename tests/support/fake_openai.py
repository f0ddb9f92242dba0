"""A small OpenAI-compatible HTTP server for tests and benchmarks: a real protocol peer for the SDK.

`POST /v1/chat/completions`, with and without `stream: true` (SSE chunks, then `data: [DONE]`). Every
request is recorded (headers, model, messages, body). By default a JSON-mode request (a system message
carrying a JSON schema, as `jobs.llm` sends) is answered with an instance synthesised from that schema;
other requests get a reply echoing the last user message. Tests can queue exact replies, make the next
answer invalid JSON, or make the next N requests fail with a status (429, 500, …).
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return self.body.get("model", "")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class FakeOpenAI:
    server: ThreadingHTTPServer | None = None
    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # exact contents to answer with, FIFO
    failures: list[int] = field(default_factory=list)  # statuses to answer the next requests with, FIFO
    invalid_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    @classmethod
    def start(cls) -> "FakeOpenAI":
        fake = cls()
        handler = type("Handler", (_Handler,), {"fake": fake})
        fake.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        fake.server.daemon_threads = True
        threading.Thread(target=fake.server.serve_forever, name="fake-openai", daemon=True).start()
        return fake

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.replies.clear()
            self.failures.clear()
            self.invalid_next = 0

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([status] * times)

    def invalid_json_once(self) -> None:
        with self.lock:
            self.invalid_next += 1

    def chat_requests(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.endswith("/chat/completions")]

    # -- what to answer --------------------------------------------------------------------------
    def _answer(self, body: dict[str, Any]) -> tuple[int | None, str]:
        with self.lock:
            if self.failures:
                return self.failures.pop(0), ""
            if self.invalid_next:
                self.invalid_next -= 1
                return None, '{"this is": not json'
            if self.replies:
                return None, self.replies.pop(0)
        schema = _schema_in(body.get("messages", []))
        if schema is not None:
            return None, json.dumps(synthesize(schema, schema))
        last = next((m.get("content", "") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        return None, f"Fake model reply to: {last}"


def _schema_in(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    for m in messages:
        if m.get("role") == "system" and "JSON schema" in (m.get("content") or ""):
            raw = m["content"].split("\n", 1)[1] if "\n" in m["content"] else ""
            try:
                return json.loads(raw)
            except ValueError:
                return None
    return None


def synthesize(node: dict[str, Any], root: dict[str, Any], name: str = "item") -> Any:
    """A small valid instance of a JSON schema (the subset pydantic emits)."""
    if "$ref" in node:
        return synthesize(root["$defs"][node["$ref"].rsplit("/", 1)[1]], root, name)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    if "default" in node:
        return node["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = [o for o in node[key] if o.get("type") != "null"] or node[key]
            return synthesize(options[0], root, name)
    kind = node.get("type", "string")
    if kind == "object":
        return {k: synthesize(v, root, k) for k, v in node.get("properties", {}).items()}
    if kind == "array":
        n = max(int(node.get("minItems", 0)), min(2, int(node.get("maxItems", 2))))
        return [synthesize(node.get("items", {}), root, name) for _ in range(n)]
    if kind in ("integer", "number"):
        lo, hi = node.get("minimum", 0), node.get("maximum", 100)
        value = (lo + hi) * 0.7
        return int(value) if kind == "integer" else round(value, 1)
    if kind == "boolean":
        return True
    text = f"model {name.replace('_', ' ')}"
    return text[: node["maxLength"]] if "maxLength" in node else text


def _tokens(text: str) -> int:
    return len(re.findall(r"\S+", text or ""))


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (~40 ms on some kernels), a stall no real provider has.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.fake.lock:
            self.fake.received.append(Received(self.path, dict(self.headers.items()), body))
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        status, content = self.fake._answer(body)
        if status is not None:
            # retry-after-ms keeps the SDK's own retry quick in tests.
            self._json(status, {"error": {"message": f"fake failure {status}", "type": "server_error"}},
                       {"retry-after-ms": "10"})
            return
        prompt = sum(_tokens(m.get("content") or "") for m in body.get("messages", []))
        usage = {"prompt_tokens": prompt, "completion_tokens": _tokens(content),
                 "total_tokens": prompt + _tokens(content)}
        base = {"id": f"chatcmpl-{len(self.fake.received)}", "created": int(time.time()),
                "model": body.get("model", "fake")}
        if not body.get("stream"):
            self._json(200, {**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        pieces = re.findall(r"\s*\S+", content) or [""]
        for i, piece in enumerate(pieces):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            self._sse({**base, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._sse({**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._sse({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _sse(self, payload: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()
