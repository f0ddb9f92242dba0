"""Request validation with pydantic: unknown fields are rejected, errors carry path and message."""
from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, request
from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import NotFound, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of every request model: unknown fields are an error, never bound."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def details_of(exc: ValidationError) -> list[dict[str, str]]:
    return [{"path": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]


def _without_nul(data: Any) -> Any:
    """Drop NUL characters from every string: PostgreSQL text cannot hold them (the driver raises,
    which would be a 500), and no text, id or name means anything by one."""
    if isinstance(data, str):
        return data.replace("\x00", "") if "\x00" in data else data
    if isinstance(data, dict):
        return {_without_nul(k): _without_nul(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_without_nul(v) for v in data]
    return data


def parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(_without_nul(data))
    except ValidationError as exc:
        raise ValidationFailed(details_of(exc)) from exc


def json_body(model: type[M], *, allow_empty: bool = False) -> M:
    """Parse the JSON body into `model`. An empty body counts as `{}` when `allow_empty`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return parse(model, {})
        raise ValidationFailed([{"path": "body", "message": "a JSON object body is required"}])
    if not (request.mimetype or "").endswith("json"):
        raise UnsupportedMediaType("send the body as application/json", stage="validation")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed([{"path": "body", "message": "body must be a JSON object"}])
    return parse(model, data)


def query(model: type[M]) -> M:
    return parse(model, request.args.to_dict())


def _refuse_nul() -> None:
    """NUL in a URL or a form field would reach PostgreSQL (a 500 from the driver): an id with one
    names nothing (404), a form field with one is invalid (400). JSON and query strings are cleaned
    in `parse`."""
    if "\x00" in request.path:
        raise NotFound("no such resource (the URL holds a NUL character)")
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        bad = sorted({k for k, v in request.form.items(multi=True) if "\x00" in k or "\x00" in v})
        if bad:
            raise ValidationFailed([{"path": k.replace("\x00", ""), "message": "must not contain NUL characters"}
                                    for k in bad])


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
