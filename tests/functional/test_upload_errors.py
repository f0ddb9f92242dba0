"""Bad uploads get the right 4xx with the envelope and stage, and leave nothing behind."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.client import ApiClient, data


@pytest.fixture()
def session(client: ApiClient) -> dict:
    r = client.post("/session/start", json={"job_type": "general", "focus_area": "behavioral"})
    return data(r)


def _post(client: ApiClient, token: str, headers: dict | None = None, **kw):  # noqa: ANN003, ANN202
    return client.post("/turn", auth=False, headers={"X-Session-Token": token, **(headers or {})}, **kw)


def _assert_error(r, status: int, stage: str) -> None:  # noqa: ANN001
    assert r.status_code == status, r.text
    body = r.json()
    assert body["data"] is None and body["error"] and body["stage"] == stage
    assert r.headers["X-Stage"] == stage
    assert body["request_id"] == r.headers["X-Request-ID"]


@pytest.mark.parametrize("case", ["empty", "not_audio", "wrong_type", "not_multipart", "missing_part", "oversize",
                                  "bad_extension"])
def test_a_bad_upload_is_refused_and_leaves_no_job_or_file(case: str, client: ApiClient, session: dict,
                                                           fixtures_dir: Path, platform) -> None:  # noqa: ANN001
    token = session["token"]
    storage = Path(platform.settings.storage_dir)
    before = set(storage.rglob("*")) if storage.exists() else set()
    if case == "empty":
        r = _post(client, token, files={"audio": ("a.wav", b"", "audio/wav")})
        _assert_error(r, 400, "upload")
    elif case == "not_audio":
        r = _post(client, token, files={"audio": ("a.wav", (fixtures_dir / "not_audio.wav").read_bytes(), "audio/wav")})
        _assert_error(r, 422, "decode")
    elif case == "wrong_type":
        r = _post(client, token, files={"audio": ("a.txt", b"hello", "text/plain")})
        _assert_error(r, 415, "upload")
    elif case == "not_multipart":
        r = _post(client, token, data=b"RIFF....", headers={"Content-Type": "audio/wav"})
        _assert_error(r, 415, "upload")
    elif case == "missing_part":
        r = _post(client, token, files={"file": ("a.wav", b"123", "audio/wav")})
        _assert_error(r, 400, "upload")
    elif case == "oversize":
        big = b"\0" * (platform.settings.max_audio_bytes + 10)
        r = _post(client, token, files={"audio": ("a.wav", big, "audio/wav")})
        _assert_error(r, 413, "upload")
    elif case == "bad_extension":
        r = _post(client, token, files={"audio": ("a.exe", b"MZ\x90\x00", "application/octet-stream")})
        _assert_error(r, 415, "upload")
    jobs = data(client.get("/api/jobs"))["jobs"]
    assert jobs == [], "a refused upload creates no job"
    sess = data(client.get(f"/session/{session['session_id']}"))
    assert sess["turns"] == []
    after = set(storage.rglob("*")) if storage.exists() else set()
    assert {p for p in after - before if p.is_file()} == set(), "no file is left behind"


def test_silence_is_refused_and_does_not_use_up_the_question(client: ApiClient, session: dict, fixtures_dir: Path) -> None:
    before = data(client.get(f"/session/{session['session_id']}"))["current_question"]
    r = _post(client, session["token"], files={"audio": ("s.wav", (fixtures_dir / "silence.wav").read_bytes(), "audio/wav")})
    assert r.status_code == 202
    job = client.wait_job(data(r)["job_id"])
    assert job["status"] == "failed" and job["error"]["stage"] == "transcription"
    assert "No speech was heard" in job["error"]["message"]
    sess = data(client.get(f"/session/{session['session_id']}"))
    assert sess["current_question"] == before and len(sess["questions"]) == 1, "the question is still open"
    deadline = time.monotonic() + 15  # the failure callback marks the turn failed (it ran in another job)
    while [t["status"] for t in sess["turns"]] != ["failed"]:
        assert time.monotonic() < deadline, sess["turns"]
        time.sleep(0.1)
        sess = data(client.get(f"/session/{session['session_id']}"))


def test_validation_errors_list_path_and_message(client: ApiClient) -> None:
    r = client.post("/session/start", json={"job_type": "software_engineer", "difficulty": "impossible",
                                            "question_count": 0, "is_admin": True})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "Validation failed" and body["stage"] == "validation"
    paths = {d["path"] for d in body["details"]}
    assert {"difficulty", "question_count", "is_admin"} <= paths
    r = client.post("/session/start", json={"job_type": "x" * 121})  # free text (issue 11), within reason
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "job_type"
    r = client.post("/session/start", json={"job_type": "Astronaut"})  # no bank role: the general questions
    assert r.status_code == 201 and r.json()["data"]["job_type"] == "general"
