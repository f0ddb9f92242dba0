"""Idempotency-Key: one request's effect however many times (and however concurrently) it is sent."""
from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from sqlalchemy import func, select, update

from tests.functional.servers import web_process
from tests.support.client import ApiClient, data


def _without_tokens(body: dict) -> str:
    return re.sub(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", "TOKEN", json.dumps(body))


def _jobs_with_key(platform, key: str) -> int:  # noqa: ANN001
    from core.models import Job

    with platform.runtime.db.Session() as s:
        return s.execute(select(func.count()).select_from(Job).where(Job.idempotency_key == key)).scalar_one()


def test_fifty_concurrent_requests_with_one_key_create_exactly_one_job(platform, admin_client: ApiClient) -> None:  # noqa: ANN001
    key = f"idem-{uuid.uuid4().hex}"
    body = {"sleep_seconds": 0.3, "payload": {"n": 1}}

    def post(_: int) -> requests.Response:
        return requests.post(platform.base_url + "/api/ops/canary", json=body, timeout=30,
                             headers={**admin_client.headers(), "Idempotency-Key": key})

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(post, range(50)))
    statuses = sorted({r.status_code for r in responses})
    # 409: the key's first request is still running. 503: on a starved machine a request waited past
    # the pool (or Redis) timeout; it says so, asks for a retry, and creates nothing.
    assert set(statuses) <= {202, 409, 503}, statuses
    for r in responses:
        if r.status_code == 503:
            assert r.json()["stage"] in {"database", "dependency"} and "Retry-After" in r.headers
    accepted = [r for r in responses if r.status_code == 202]
    assert len({r.json()["data"]["job_id"] for r in accepted}) == 1
    assert all(r.headers["Idempotency-Key"] == key for r in responses)
    for r in responses:
        if r.status_code == 409:
            assert r.json()["stage"] == "idempotency" and r.headers["Retry-After"] == "1"
    assert _jobs_with_key(platform, key) == 1
    job_id = accepted[0].json()["data"]["job_id"]
    admin_client.wait_job(job_id)
    replay = post(0)
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert _without_tokens(replay.json()) == _without_tokens(accepted[0].json())
    assert _jobs_with_key(platform, key) == 1


def test_the_same_key_with_a_different_body_is_422_and_keys_are_per_user(platform, make_client) -> None:  # noqa: ANN001
    alice, bob = make_client(admin=True), make_client(admin=True)
    key = f"k-{uuid.uuid4().hex[:8]}"
    first = alice.post("/api/ops/canary", json={"steps": 1}, headers={"Idempotency-Key": key})
    assert first.status_code == 202
    changed = alice.post("/api/ops/canary", json={"steps": 2}, headers={"Idempotency-Key": key})
    assert changed.status_code == 422 and changed.json()["stage"] == "idempotency"
    assert changed.headers["Idempotency-Key"] == key
    other_user = bob.post("/api/ops/canary", json={"steps": 2}, headers={"Idempotency-Key": key})
    assert other_user.status_code == 202
    assert data(other_user)["job_id"] != data(first)["job_id"]


def test_errors_are_replayed_but_server_refusals_release_the_key(make_client) -> None:  # noqa: ANN001
    c = make_client()
    key = f"k-{uuid.uuid4().hex[:8]}"
    bad = c.post("/session/start", json={"difficulty": "impossible"}, headers={"Idempotency-Key": key})
    again = c.post("/session/start", json={"difficulty": "impossible"}, headers={"Idempotency-Key": key})
    assert bad.status_code == again.status_code == 400 and again.headers["Idempotent-Replayed"] == "true"
    forbidden = c.post("/api/ops/canary", json={}, headers={"Idempotency-Key": key + "x"})
    assert forbidden.status_code == 403  # stored: the same request is refused the same way
    garbage = c.post("/api/ops/canary", json={}, headers={"Idempotency-Key": "é" * 3})
    assert garbage.status_code in (400, 403)


def test_an_expired_key_can_be_used_again(platform, make_client) -> None:  # noqa: ANN001
    from core.clock import utcnow
    from core.models import IdempotencyKey

    c = make_client(admin=True)
    key = f"k-{uuid.uuid4().hex[:8]}"
    first = data(c.post("/api/ops/canary", json={}, headers={"Idempotency-Key": key}))
    with platform.runtime.db.session_scope() as s:
        s.execute(update(IdempotencyKey).where(IdempotencyKey.key == key)
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    second = data(c.post("/api/ops/canary", json={}, headers={"Idempotency-Key": key}))
    assert second["job_id"] != first["job_id"]


def test_an_uploaded_answer_with_a_key_is_accepted_once(make_client, fixtures_dir) -> None:  # noqa: ANN001
    c = make_client()
    started = data(c.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"}))
    key = f"turn-{uuid.uuid4().hex[:8]}"
    path = fixtures_dir / "answer_short.wav"
    results = []
    for _ in range(3):
        with open(path, "rb") as f:
            results.append(c.post("/turn", auth=False, files={"audio": (path.name, f, "audio/wav")},
                                  headers={"X-Session-Token": started["token"], "Idempotency-Key": key}))
    assert [r.status_code for r in results] == [202, 202, 202]
    assert len({r.json()["data"]["turn_id"] for r in results}) == 1
    c.wait_job(results[0].json()["data"]["job_id"])
    session = data(c.get(f"/session/{started['session_id']}"))
    assert len(session["turns"]) == 1


def test_keys_need_a_caller_and_stored_answers_hold_no_credentials(platform, make_client) -> None:  # noqa: ANN001
    """Issue 13 item 10: two anonymous clients (same address, same user agent) sending one key never
    share an answer; a replay carries freshly minted tokens for the same caller; no token at rest."""
    from core import tokens
    from core.models import IdempotencyKey

    key = f"guest-{uuid.uuid4().hex[:8]}"
    with web_process(platform, allow_guest=True) as url:
        first = requests.post(url + "/auth/guest", headers={"Idempotency-Key": key, "User-Agent": "same"}, timeout=10)
        second = requests.post(url + "/auth/guest", headers={"Idempotency-Key": key, "User-Agent": "same"}, timeout=10)
        for r in (first, second):
            assert r.status_code == 400 and r.json()["stage"] == "idempotency", r.text
        assert requests.post(url + "/auth/guest", timeout=10).status_code == 201  # without a key, still welcome

    c = make_client()
    key = f"start-{uuid.uuid4().hex[:8]}"
    body = {"job_type": "software_engineer", "focus_area": "behavioral"}
    started = c.post("/session/start", json=body, headers={"Idempotency-Key": key})
    replayed = c.post("/session/start", json=body, headers={"Idempotency-Key": key})
    assert started.status_code == replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    a, b = data(started), data(replayed)
    assert a["session_id"] == b["session_id"] and a["token"] != b["token"]
    claims = tokens.verify_session_token(platform.settings, b["token"])
    assert claims["sid"] == a["session_id"]
    assert b["stream_url"].split("?st=")[0] == a["stream_url"].split("?st=")[0]
    assert c.get(f"/session/{a['session_id']}", auth=False, headers={"X-Session-Token": b["token"]}).status_code \
        in (200, 401)  # the session routes decide which token kinds they take; the token itself verifies
    with platform.runtime.db.Session() as s:
        stored = s.execute(select(IdempotencyKey.body).where(IdempotencyKey.key == key)).scalar_one()
    assert a["token"] not in stored and not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.", stored), stored
