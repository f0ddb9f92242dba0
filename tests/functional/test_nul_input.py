"""NUL characters (which PostgreSQL text cannot hold) never reach the database: JSON and query strings
lose them, a URL with one names nothing (404), a form field with one is a 400. Found by schemathesis."""
from __future__ import annotations

from pathlib import Path

from tests.support.client import ApiClient, data


def test_nul_characters_get_a_4xx_or_are_dropped_never_a_500(client: ApiClient, fixtures_dir: Path) -> None:
    r = client.post("/api/resume", json={"title": "CV\x00", "text": "Jane\x00 Doe", "sections": {"a\x00": "b\x00"}})
    assert r.status_code == 201, r.text
    resume = data(client.get(f"/api/resume/{data(r)['id']}"))
    assert resume["title"] == "CV" and resume["text"] == "Jane Doe" and resume["sections"] == {"a": "b"}
    assert client.post("/api/resume", json={"text": "\x00"}).status_code == 400  # nothing left once dropped
    for path in ("/api/resume/res%00x", "/api/jobs/a%00b", "/session/a%00b", "/api/interviews/a%00b",
                 "/api/batches/x%00"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["stage"] == "lookup", (path, r.text)
    assert client.get("/api/jobs?kind=a%00b").status_code == 200
    with open(fixtures_dir / "answer_short.wav", "rb") as f:
        r = client.post("/turn", data={"session_id": "sess\x00"}, files={"audio": ("a.wav", f, "audio/wav")})
    assert r.status_code == 400 and r.json()["details"] == [{"path": "session_id",
                                                             "message": "must not contain NUL characters"}]
