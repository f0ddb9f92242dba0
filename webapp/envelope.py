"""The JSON envelope of every response: {"data", "error", "request_id"} (+ details and stage on error)."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, json


def request_id() -> str | None:
    return getattr(g, "request_id", None)


def ok(data: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = {"data": data, "error": None, "request_id": request_id()}
    return _json(body, status, headers)


def error(message: str, *, status: int, stage: str, details: Any = None,
          headers: dict[str, str] | None = None) -> Response:
    body = {"data": None, "error": message, "details": details if details is not None else {}, "stage": stage,
            "request_id": request_id()}
    resp = _json(body, status, headers)
    resp.headers["X-Stage"] = stage
    return resp


def _json(body: dict, status: int, headers: dict[str, str] | None) -> Response:
    resp = current_app.response_class(json.dumps(body, default=str), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
