"""`/openapi.json`, generated from the routes and the pydantic models they validate with (`/docs`, in
`webapp/api_docs.py`, shows it with Swagger UI).

Annotate a view with `@document(...)` (anywhere in its decorator stack: it only sets an attribute,
which `functools.wraps` carries through `login_required`):

    @bp.post("/api/things")
    @document(body=CreateThing, summary="Create a thing", status=202, tags=["things"])
    @login_required
    def create_thing(): ...

`build_spec(app)` walks `app.url_map`, so every route appears, documented or not; documented ones carry
their request body / query parameters (the same models `json_body` / `query` validate with), and every
operation declares the envelope for success and the error envelope for everything else.
"""
from __future__ import annotations

import inspect
import re
from typing import Any, Callable, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify
from pydantic import BaseModel

from webapp import openapi_text

F = TypeVar("F", bound=Callable[..., Any])

ATTR = "__openapi__"
_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SKIP_ENDPOINTS = {"static", "openapi.spec", "api_docs.docs", "api_docs.asset"}

bp = Blueprint("openapi", __name__)


def document(*, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
             summary: str | None = None, description: str | None = None, status: int | None = None,
             tags: list[str] | None = None, data: type[BaseModel] | dict | None = None,
             content: str | None = None, multipart: dict[str, str] | None = None,
             responses: dict[int, str] | None = None, auth: str | None = "bearer",
             headers: dict[str, str] | None = None, hidden: bool = False, envelope: bool = True,
             example: Any = None, response_example: Any = None) -> Callable[[F], F]:
    """Describe a route for `/openapi.json`.

    body / query: pydantic request models. status: the success status. data: the model (or a JSON
    schema) of the envelope's `data`. content: a non-JSON success media type (`text/event-stream`,
    `application/octet-stream`). multipart: `{field: "file"|"string"}` for form uploads. responses:
    extra documented statuses with descriptions. auth: "bearer", "session", "cron", "stripe" or None.
    headers: request headers the route reads (name → description). envelope=False: the body is `data`
    itself, errors are OpenAI's `{"error": {...}}` (the `/v1` compatibility routes). example /
    response_example: a request body and a success `data` shown by `/docs`.
    """

    def mark(fn: F) -> F:
        setattr(fn, ATTR, {"body": body, "query": query, "summary": summary, "description": description,
                           "status": status, "tags": tags, "data": data, "content": content,
                           "multipart": multipart, "responses": responses or {}, "auth": auth,
                           "headers": headers or {}, "hidden": hidden, "envelope": envelope,
                           "example": example, "response_example": response_example})
        return fn

    return mark


_ENVELOPE_OK = {
    "type": "object",
    "required": ["data", "error", "request_id"],
    "properties": {"data": {}, "error": {"type": "null"}, "request_id": {"type": ["string", "null"]}},
}
_ENVELOPE_ERROR = {
    "type": "object",
    "required": ["data", "error", "stage", "request_id"],
    "properties": {
        "data": {"type": "null"},
        "error": {"type": "string"},
        "details": {"anyOf": [{"type": "array"}, {"type": "object"}]},
        "stage": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
    },
}
_OPENAI_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["message", "type"],
                             "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                                            "param": {"type": ["string", "null"]},
                                            "code": {"type": ["string", "null"]}}},
                   "request_id": {"type": ["string", "null"]}, "stage": {"type": "string"}},
}
_SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "session": {"type": "apiKey", "in": "header", "name": "X-Session-Token"},
    "cron": {"type": "apiKey", "in": "header", "name": "X-Cron-Secret"},
    "stripe": {"type": "apiKey", "in": "header", "name": "Stripe-Signature"},
}


# A character that survives `Strict`'s whitespace stripping and `parse`'s NUL removal.
NOT_BLANK = r"[^\s\u0000]"


def _not_blank(schema: Any) -> Any:
    """Request models strip whitespace before checking lengths (`Strict`), so a required-length
    string must also hold a non-space character: say so, or the spec accepts what the server refuses."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and schema.get("minLength", 0) >= 1 and "pattern" not in schema \
                and "enum" not in schema and "format" not in schema:
            schema["pattern"] = NOT_BLANK
        for value in schema.values():
            _not_blank(value)
    elif isinstance(schema, list):
        for value in schema:
            _not_blank(value)
    return schema


def _request_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return _not_blank(schema) if model.model_config.get("str_strip_whitespace") else schema


def _model_schema(model: type[BaseModel], defs: dict[str, Any], *, request: bool = False) -> dict[str, Any]:
    schema = _request_schema(model) if request else model.model_json_schema(
        ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        defs[name] = sub
    defs[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _path_and_params(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []

    def repl(m: re.Match) -> str:
        conv = m.group("conv") or "string"
        schema: dict[str, Any] = {"type": "integer"} if conv == "int" else {"type": "string"}
        if conv in ("string", "default"):
            # Ids are tokens: keep generated values to what a URL segment can carry.
            schema.update({"minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9_\-]+$"})
        params.append({"name": m.group("name"), "in": "path", "required": True, "schema": schema})
        return "{" + m.group("name") + "}"

    return _CONVERTER.sub(repl, rule), params


def _query_params(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _request_schema(model)
    for name, sub in schema.pop("$defs", {}).items():
        defs[name] = sub
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        out.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return out


_BODY = re.compile(r"json_body\(\s*([A-Za-z_][\w.]*)")
_QUERY = re.compile(r"(?<![\w.])query\(\s*([A-Za-z_][\w.]*)")
_STATUS = re.compile(r"status=(\d{3})")


def _resolve(view: Callable[..., Any], name: str) -> type[BaseModel] | None:
    obj: Any = getattr(inspect.unwrap(view), "__globals__", {}).get(name.split(".")[0])
    for part in name.split(".")[1:]:
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) and issubclass(obj, BaseModel) else None


def _inferred(view: Callable[..., Any]) -> dict[str, Any]:
    """What an undecorated view's source says: the models it validates with (`json_body(M)`,
    `query(M)`), its success status, uploads, streams and downloads, and whether it authenticates.
    `@document` overrides any of these."""
    try:
        source = inspect.getsource(inspect.unwrap(view))
    except (OSError, TypeError):
        return {}
    meta: dict[str, Any] = {}
    if (m := _BODY.search(source)) and (model := _resolve(view, m.group(1))):
        meta["body"] = model
    if (m := _QUERY.search(source)) and (model := _resolve(view, m.group(1))):
        meta["query"] = model
    statuses = [int(x) for x in _STATUS.findall(source) if 200 <= int(x) < 300]
    if statuses:
        meta["status"] = statuses[0]
    if "request.files" in source or "_audio_upload(" in source:
        meta["multipart"] = {"audio": "file"} if "audio" in source else {"file": "file"}
    if (m := re.search(r"mimetype=\"([\w.+-]+/[\w.+-]+)\"", source)) and "json" not in m.group(1):
        meta["content"] = m.group(1)
    elif "stream_response(" in source:
        meta["content"] = "text/event-stream"
    elif "_html(" in source or "send_static_file(" in source or "render_template" in source:
        meta["content"] = "text/html"
    elif "send_file(" in source:
        meta["content"] = "application/octet-stream"
    meta["auth"] = "bearer" if re.search(r"login_required|admin_required|authenticate\(|current_user\(|"
                                         r"_session_for_caller\(", source) else None
    return meta


def _operation(view: Callable[..., Any], method: str, endpoint: str, defs: dict[str, Any]) -> dict[str, Any] | None:
    explicit = getattr(view, ATTR, None) or {}
    meta = {**_inferred(view), **{k: v for k, v in explicit.items() if v is not None and v != {}}}
    if "auth" in explicit:
        meta["auth"] = explicit["auth"]
    if meta.get("hidden"):
        return None
    op: dict[str, Any] = {"operationId": f"{endpoint}.{method.lower()}",
                          "summary": meta.get("summary") or (view.__doc__ or endpoint).strip().splitlines()[0],
                          "tags": meta.get("tags") or [endpoint.split(".", 1)[0]]}
    if meta.get("description"):
        op["description"] = meta["description"]
    params: list[dict[str, Any]] = []
    if meta.get("query") is not None:
        params += _query_params(meta["query"], defs)
    for name, desc in (meta.get("headers") or {}).items():
        params.append({"name": name, "in": "header", "required": False, "description": desc,
                       "schema": {"type": "string"}})
    if params:
        op["parameters"] = params
    if meta.get("body") is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _model_schema(meta["body"], defs,
                                                                                      request=True)}}}
        if meta.get("example") is not None:
            op["requestBody"]["content"]["application/json"]["example"] = meta["example"]
    elif meta.get("multipart"):
        props = {k: ({"type": "string", "format": "binary"} if v == "file" else {"type": "string"})
                 for k, v in meta["multipart"].items()}
        files = [k for k, v in meta["multipart"].items() if v == "file"]  # the upload itself is required
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "properties": props, "required": files}}}}
    status = str(meta.get("status") or (201 if method == "POST" and meta.get("body") else 200))
    data_schema: dict[str, Any] = {}
    if isinstance(meta.get("data"), type) and issubclass(meta["data"], BaseModel):
        data_schema = _model_schema(meta["data"], defs)
    elif isinstance(meta.get("data"), dict):
        data_schema = meta["data"]
    ok_schema = {**_ENVELOPE_OK, "properties": {**_ENVELOPE_OK["properties"], "data": data_schema}}
    if meta.get("envelope") is False:
        ok_schema = data_schema
    content: dict[str, Any] = {"application/json": {"schema": ok_schema}}
    if meta.get("response_example") is not None:
        example = meta["response_example"]
        content["application/json"]["example"] = example if meta.get("envelope") is False else {
            "data": example, "error": None, "request_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}
    if meta.get("content"):
        # Streams, downloads and pages: the media type is the contract (JSON only when asked for).
        raw = {} if meta["content"] == "text/event-stream" else {"type": "string"}  # SSE: one object per event
        content = {meta["content"]: {"schema": raw}, **content}
    success = {"description": "Success (the envelope, unless a stream or file)", "content": content}
    error = {"description": "Error envelope", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
    if meta.get("envelope") is False:
        error = {"description": "OpenAI error object", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/OpenAIError"}}}}
    # Views answer with the status of what happened (200 for a replayed or already-finished request,
    # 201/202 otherwise): every 2xx carries the success envelope, every other status the error one.
    op["responses"] = {status: success, "2XX": success, "default": error}
    for code, desc in (meta.get("responses") or {}).items():
        op["responses"].setdefault(str(code), {**error, "description": desc})
    auth = meta.get("auth")
    op["security"] = [{auth: []}] if auth else []
    return op


def build_spec(app: Flask) -> dict[str, Any]:
    defs: dict[str, Any] = {"ErrorEnvelope": _ENVELOPE_ERROR, "OpenAIError": _OPENAI_ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in _SKIP_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        path, path_params = _path_and_params(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = _operation(view, method, rule.endpoint, defs)
            if op is None:
                continue
            if path_params:
                op["parameters"] = path_params + op.get("parameters", [])
            openapi_text.annotate(op, method, path)  # summaries and seed examples for undecorated views
            openapi_text.statuses(op, path)
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "VoiceMock API", "version": "1.0",
                 "description": "Self-hostable AI interview coaching. Every JSON response is the envelope "
                                "{data, error, request_id}; errors add details and stage."},
        "paths": paths,
        "components": {"schemas": defs, "securitySchemes": _SECURITY},
    }


@bp.get("/openapi.json")
def spec() -> Response:
    cached = current_app.extensions.get("voicemock.openapi")
    if cached is None:
        cached = current_app.extensions["voicemock.openapi"] = build_spec(current_app)
    return jsonify(cached)


document(auth=None, summary="The OpenAPI 3.1 description of this API", hidden=True)(spec)


def init_app(app: Flask) -> None:
    from webapp import api_docs

    app.register_blueprint(bp)
    app.register_blueprint(api_docs.bp)  # /docs: Swagger UI over /openapi.json
