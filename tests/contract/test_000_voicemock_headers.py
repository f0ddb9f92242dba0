"""Document 000, "HTTP Headers - VoiceMock AI Interview Coach": every example, sent as printed."""
from __future__ import annotations

from pathlib import Path

import requests

from tests.contract.seed import UUID4, envelope, wait_job
from tests.functional.servers import web_process
from tests.support.client import ApiClient, data

# "### Example Flow", step 1, the body exactly as printed.
START_BODY = '{"job_type": "Backend Engineer", "focus_area": "System Design"}'


def _start(base_url: str, extra: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{base_url}/session/start", data=START_BODY, timeout=30,
                         headers={"Content-Type": "application/json", **(extra or {})})


def test_x_request_id_example_the_server_makes_a_uuid4_in_the_header_and_the_body(client: ApiClient) -> None:
    """"## X-Request-ID" / "### Example": Content-Type application/json, X-Request-ID a UUID v4, the same
    id in the body's request_id, `data` and `error: null`."""
    r = client.get("/api/interviews", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    body = envelope(r)
    assert UUID4.match(r.headers["X-Request-ID"]) and body["error"] is None and body["data"] is not None


def test_example_flow_step_1_start_session_with_free_text_role_and_focus_area(client: ApiClient) -> None:
    """"### Example Flow" 1 and 2: `POST /session/start {"job_type": "Backend Engineer", "focus_area":
    "System Design"}` → `data.session_id` (sess_…) and `data.token`; the words are the session's title."""
    r = _start(client.base_url, client.headers())
    assert r.status_code == 201, r.text
    out = envelope(r)["data"]
    assert out["session_id"].startswith("sess_") and out["token"].startswith("eyJ")
    assert out["title"] == "Backend Engineer — System Design"
    assert out["job_type"] == "software_engineer" and out["focus_area"] == "system_design"
    assert out["first_question"]["type"] == "system_design"


def test_example_flow_step_1_without_credentials_makes_a_guest_where_guests_are_allowed(platform) -> None:  # noqa: ANN001
    """"### Example Flow" 1 exactly as printed (no credentials at all), against a server that allows
    guests (embedded mode, `make run`): the caller becomes a guest and gets the session token."""
    with web_process(platform, allow_guest=True) as url:
        r = _start(url)
        assert r.status_code == 201, r.text
        out = envelope(r)["data"]
        assert out["session_id"].startswith("sess_") and out["token"] and out["access_token"]
        me = requests.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {out['access_token']}"}, timeout=10)
        assert me.status_code == 200 and me.json()["data"]["is_guest"] is True
    with web_process(platform, allow_guest=False) as url:
        r = _start(url)
        assert r.status_code == 401 and r.headers["X-Stage"] == "auth"


def test_example_flow_step_3_turn_with_the_session_token_and_its_status_url(client: ApiClient,
                                                                             fixtures_dir: Path) -> None:
    """"### Example Flow" 3: `POST /turn` with `X-Session-Token` and multipart/form-data; the job's
    `status_url` answers to the same X-Session-Token, through to the worker's result."""
    token = data(_start(client.base_url, client.headers()))["token"]
    session = {"X-Session-Token": token}
    with open(fixtures_dir / "answer_short.wav", "rb") as f:
        r = requests.post(f"{client.base_url}/turn", headers=session, files={"audio": ("answer.wav", f, "audio/wav")},
                          timeout=30)
    assert r.status_code == 202, r.text
    turn = envelope(r)["data"]
    assert turn["status_url"] == f"/api/jobs/{turn['job_id']}" and turn["stream_url"]
    job = wait_job(client.base_url, turn["job_id"], session)
    assert job["status"] == "succeeded" and job["result"]["transcript"]
    other = data(_start(client.base_url, client.headers()))["token"]  # another session's token: not this job
    assert requests.get(client.base_url + turn["status_url"], headers={"X-Session-Token": other},
                        timeout=10).status_code == 404


def test_response_headers_x_stage_on_error(anon: ApiClient) -> None:
    """"## Response Headers": X-Stage names the processing stage where an error occurred."""
    r = anon.post("/turn", files={"audio": ("a.wav", b"RIFF", "audio/wav")})
    body = envelope(r)
    assert r.status_code == 401 and r.headers["X-Stage"] == body["stage"] == "auth" and body["data"] is None


def test_cors_headers_development(anon: ApiClient) -> None:
    """"## CORS Headers (Development)": Allow-Origin *, methods GET, POST, DELETE, OPTIONS, headers
    Content-Type, X-Session-Token."""
    r = anon.request("OPTIONS", "/turn", headers={"Origin": "http://localhost:3000",
                                                  "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "Content-Type, X-Session-Token"})
    assert r.status_code in (200, 204)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"GET", "POST", "DELETE", "OPTIONS"} <= methods and {"content-type", "x-session-token"} <= allowed
