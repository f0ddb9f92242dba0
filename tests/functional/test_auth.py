"""Tokens: bearer access tokens, session tokens, stream tokens; forged or misused ones are a 401."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from core import tokens
from tests.support.client import ApiClient, data


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _claims(settings, **over) -> dict:  # noqa: ANN001, ANN003
    now = int(time.time())
    return {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "mallory@example.com", "iat": now,
            "nbf": now, "exp": now + 600, "typ": "access", **over}


def _forge(kind: str, settings) -> str:  # noqa: ANN001
    if kind == "alg_none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(settings))}."
    if kind == "wrong_key":
        return jwt.encode(_claims(settings), "not-the-secret-" + "y" * 40, algorithm="HS256")
    if kind == "expired":
        return jwt.encode(_claims(settings, exp=int(time.time()) - 60, iat=int(time.time()) - 120,
                                  nbf=int(time.time()) - 120), settings.secret_key, algorithm="HS256")
    if kind == "not_yet_valid":
        return jwt.encode(_claims(settings, nbf=int(time.time()) + 600), settings.secret_key, algorithm="HS256")
    if kind == "wrong_audience":
        return jwt.encode(_claims(settings, aud="someone-else"), settings.secret_key, algorithm="HS256")
    if kind == "wrong_issuer":
        return jwt.encode(_claims(settings, iss="https://evil.example"), settings.secret_key, algorithm="HS256")
    if kind == "hs512":
        return jwt.encode(_claims(settings), settings.secret_key, algorithm="HS512")
    if kind == "session_as_access":
        return tokens.mint_session_token(settings, "usr_x", "sess_x")
    if kind == "stream_as_access":
        return tokens.mint_stream_token(settings, "usr_x", "job:job_x")
    if kind == "garbage":
        return "not.a.jwt"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["alg_none", "wrong_key", "expired", "not_yet_valid", "wrong_audience",
                                  "wrong_issuer", "hs512", "session_as_access", "stream_as_access", "garbage"])
def test_a_forged_or_misused_token_is_refused_with_401(kind: str, platform) -> None:  # noqa: ANN001
    client = ApiClient(platform.base_url, _forge(kind, platform.settings))
    r = client.post("/session/start", json={})
    assert r.status_code == 401, r.text
    assert r.json()["stage"] == "auth" and r.headers["X-Stage"] == "auth"
    assert client.get("/api/jobs").status_code == 401


def test_no_token_is_a_401_and_a_minted_token_works(anon: ApiClient, client: ApiClient) -> None:
    assert anon.get("/api/jobs").status_code == 401
    assert client.get("/api/jobs").status_code == 200
    bad_scheme = anon.get("/api/jobs", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert bad_scheme.status_code == 401


def test_an_access_token_is_not_a_session_token(client: ApiClient, fixtures_dir) -> None:  # noqa: ANN001
    r = client.post("/turn", auth=False, headers={"X-Session-Token": client.token},
                    files={"audio": ("a.wav", (fixtures_dir / "answer_short.wav").read_bytes(), "audio/wav")})
    assert r.status_code == 401


def test_another_users_session_and_job_are_404(make_client, fixtures_dir) -> None:  # noqa: ANN001
    alice, bob = make_client(), make_client()
    started = data(alice.post("/session/start", json={"job_type": "general"}))
    r = alice.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                   files={"audio": ("a.wav", (fixtures_dir / "answer_short.wav").read_bytes(), "audio/wav")})
    job_id = data(r)["job_id"]
    sid = started["session_id"]
    for method, path in (("GET", f"/session/{sid}"), ("POST", f"/session/{sid}/end"), ("DELETE", f"/session/{sid}"),
                         ("GET", f"/session/{sid}/events"), ("GET", f"/api/jobs/{job_id}"),
                         ("GET", f"/api/jobs/{job_id}/events"), ("GET", f"/api/jobs/{job_id}/artifact"),
                         ("DELETE", f"/api/jobs/{job_id}")):
        resp = bob.request(method, path)
        assert resp.status_code == 404, (method, path, resp.status_code, resp.text)
    # Alice's session token does not open another session either.
    other = data(bob.post("/session/start", json={"job_type": "general"}))
    r = alice.get(f"/session/{other['session_id']}", auth=False, headers={"X-Session-Token": started["token"]})
    assert r.status_code == 404
    assert alice.wait_job(job_id)["status"] == "succeeded"


def test_a_stream_token_opens_only_its_own_stream(make_client) -> None:  # noqa: ANN001
    admin = make_client("admin@example.com", admin=True)
    a = data(admin.post("/api/ops/canary", json={}))
    b = data(admin.post("/api/ops/canary", json={}))
    st_a = a["stream_url"].split("st=", 1)[1]
    events = admin.sse(a["stream_url"], auth=False)
    assert events[-1].type == "succeeded"
    r = admin.get(f"/api/jobs/{b['job_id']}/events?st={st_a}", auth=False)
    assert r.status_code == 401


def test_guest_sign_in_issues_a_working_token(anon: ApiClient, platform) -> None:  # noqa: ANN001
    # The test platform runs in production mode, where guests are off unless configured.
    r = anon.post("/auth/guest")
    assert r.status_code == 403 and r.json()["stage"] == "auth"
