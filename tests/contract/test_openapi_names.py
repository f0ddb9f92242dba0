"""`/openapi.json` lists the documents' own names as first-class fields (issue 11: "the documents'
names are first-class, appear in responses, in /openapi.json and in the README")."""
from __future__ import annotations

from tests.support.client import ApiClient


def _body(spec: dict, path: str, method: str) -> dict:
    ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _data(spec: dict, path: str, method: str) -> dict:
    op = spec["paths"][path][method]["responses"]
    status = next(k for k in op if k.startswith("2") and k != "2XX")
    return op[status]["content"]["application/json"]["schema"]["properties"]["data"]


def test_the_spec_names_the_documents_fields(anon: ApiClient) -> None:
    spec = anon.get("/openapi.json").json()
    assert {"role", "type", "difficulty"} <= set(_body(spec, "/api/interviews", "post")["properties"])
    assert "assistant" in _body(spec, "/api/interviews/{interview_id}/messages", "post")["properties"]["role"]["enum"]
    assert {"scores", "feedback"} <= set(_body(spec, "/api/interviews/{interview_id}/score", "post")["properties"])
    assert {"name", "content"} <= set(_body(spec, "/api/resume", "post")["properties"])
    assert {"name"} <= set(_body(spec, "/api/resume/{resume_id}", "put")["properties"])
    assert not _body(spec, "/api/settings/llm", "put").get("required")  # a partial update
    assert {"job_type", "focus_area"} <= set(_body(spec, "/session/start", "post")["properties"])
    item = _data(spec, "/api/interviews", "get")["properties"]["interviews"]["items"]
    assert {"id", "user_id", "role", "type", "status", "created_at"} <= set(item["required"])
    report = _data(spec, "/api/interviews/{interview_id}/report", "get")["properties"]
    assert {"overall_score", "strengths", "weaknesses", "recommendations"} <= set(report)
    assert {"session_id", "stream_url"} <= set(_data(spec, "/api/copilot/sessions/start", "post")["required"])
    assert {"provider", "model", "temperature"} <= set(_data(spec, "/api/settings/llm", "get")["required"])
    upload = spec["paths"]["/api/resume/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "name"} <= set(upload["properties"])
    purge = spec["paths"]["/api/copilot/sessions/purge"]["delete"]["parameters"]
    assert [p["required"] for p in purge if p["name"] == "older_than_days"] == [False]
    assert {"get", "post"} <= set(spec["paths"]["/api/assessments/run"])
