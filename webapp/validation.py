"""Request validation with pydantic: unknown fields are rejected, errors carry path and message.

JSON bodies are parsed here and nowhere else (`loads`): no `NaN`/`Infinity` or numbers that overflow
to infinity (PostgreSQL JSON cannot hold them), nesting at most `MAX_DEPTH` deep and `MAX_NODES`
values in all (a `RecursionError` or seconds of CPU otherwise), a JSON content type whenever a body is
sent (415, never a body silently dropped), and at most `MAX_ERRORS` validation errors answered.
"""
from __future__ import annotations

import json
import math
from typing import Any, TypeVar, get_args

from flask import Flask, Request as FlaskRequest, request
from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import NotFound, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_ERRORS = 20
INT64 = 2**63 - 1


class Strict(BaseModel):
    """Base of every request model: unknown fields are an error, never bound."""

    # No NaN or infinities from a query string or a form either (JSON bodies cannot carry them: `loads`).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


def details_of(exc: ValidationError) -> list[dict[str, str]]:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    return capped([{"path": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                   for e in errors[:MAX_ERRORS + 1]], total=exc.error_count())


def capped(details: list[dict[str, str]], *, total: int | None = None) -> list[dict[str, str]]:
    """The first MAX_ERRORS errors, then one line saying how many more there were."""
    total = len(details) if total is None else total
    if total <= MAX_ERRORS:
        return details
    return [*details[:MAX_ERRORS], {"path": "body", "message": f"... and {total - MAX_ERRORS} more errors"}]


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed([{"path": "body", "message": message}])


def _refuse_constant(name: str) -> Any:
    raise _invalid(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _invalid(f"number {text[:40]} is out of range")
    return value


def loads(raw: bytes | str) -> Any:
    """Parse a JSON document from a client: 400 (never a 500) for anything PostgreSQL or Python
    could not take: invalid JSON, NaN/Infinity, numbers beyond a double, deep nesting, too many values."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError as exc:
        raise _invalid(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, an integer past Python's digit limit
        raise _invalid("body is not valid JSON") from exc
    _check_shape(data)
    return data


def _check_shape(data: Any) -> None:
    stack: list[tuple[Any, int]] = [(data, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _invalid(f"JSON holds more than {MAX_NODES} values")
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= MAX_DEPTH and value:
            raise _invalid(f"JSON nested deeper than {MAX_DEPTH} levels")
        stack.extend((c, depth + 1) for c in children)


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


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    return any(a in (int, float) for a in get_args(annotation)) and bool not in get_args(annotation)


def _refuse_booleans_as_numbers(model: type[BaseModel], data: Any) -> None:
    """pydantic's lax mode reads `true` as 1 for an int or float field; a JSON boolean where the spec
    says number is a client's mistake, so it is a 400 naming the field (schemathesis sends them)."""
    if not isinstance(data, dict):
        return
    bad = [name for name, f in model.model_fields.items()
           if isinstance(data.get(f.alias or name), bool) and _numeric(f.annotation)]
    if bad:
        raise ValidationFailed([{"path": name, "message": "Input should be a number, not true or false"}
                                for name in bad])


def parse(model: type[M], data: Any) -> M:
    _refuse_unknown_flood(model, data)
    _refuse_booleans_as_numbers(model, data)
    try:
        parsed = model.model_validate(_without_nul(data))
    except ValidationError as exc:
        raise ValidationFailed(details_of(exc)) from exc
    except RecursionError as exc:
        raise _invalid(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    _check_integers(parsed)
    return parsed


def _refuse_unknown_flood(model: type[BaseModel], data: Any) -> None:
    """A body of a million unknown keys is refused by counting them, not by building a million errors."""
    if not isinstance(data, dict) or len(data) <= MAX_ERRORS or model.model_config.get("extra") != "forbid":
        return
    known = set(model.model_fields)
    known |= {f.alias for f in model.model_fields.values() if f.alias}
    unknown = [k for k in data if k not in known]
    if len(unknown) > MAX_ERRORS:
        raise ValidationFailed(capped([{"path": str(k)[:100], "message": "Extra inputs are not permitted"}
                                       for k in unknown[:MAX_ERRORS + 1]], total=len(unknown)))


def _check_integers(parsed: BaseModel) -> None:
    """Integer fields go into BIGINT columns, OFFSET and LIMIT: beyond 64 bits PostgreSQL refuses
    them (a 500), so they are a 400 here, for every model without a bound of its own."""
    for name in type(parsed).model_fields:
        value = getattr(parsed, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value <= INT64:
            raise ValidationFailed([{"path": name, "message": "number is out of range"}])


def json_body(model: type[M], *, allow_empty: bool = False) -> M:
    """Parse the JSON body into `model`. An empty body counts as `{}` when `allow_empty`.
    A body of another content type (a form, multipart) is 415 before it is read."""
    if has_body() and not is_json(request.mimetype):
        raise UnsupportedMediaType("send the body as application/json", stage="validation")
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return parse(model, {})
        raise ValidationFailed([{"path": "body", "message": "a JSON object body is required"}])
    data = loads(raw)
    if not isinstance(data, dict):
        raise ValidationFailed([{"path": "body", "message": "body must be a JSON object"}])
    return parse(model, data)


def has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def is_json(mimetype: str | None) -> bool:
    return (mimetype or "").endswith("json")


def query(model: type[M]) -> M:
    return parse(model, request.args.to_dict())


def _refuse_nul_in_path() -> None:
    """NUL in a URL would reach PostgreSQL (a 500 from the driver): an id with one names nothing."""
    if "\x00" in request.path:
        raise NotFound("no such resource (the URL holds a NUL character)")


class Request(FlaskRequest):
    """Form fields are checked for NUL (PostgreSQL text cannot hold one: 400) when they are parsed,
    which happens only once a view (after authentication and rate limiting) or the idempotency
    fingerprint reads them, never before. JSON and query strings are cleaned in `parse`."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        bad = sorted({k for k, v in self.form.items(multi=True) if "\x00" in k or "\x00" in v})
        if bad:
            raise ValidationFailed([{"path": k.replace("\x00", ""), "message": "must not contain NUL characters"}
                                    for k in bad])


def init_app(app: Flask) -> None:
    app.request_class = Request
    app.before_request(_refuse_nul_in_path)
