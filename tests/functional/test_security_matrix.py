"""Security matrix, generated from the app's own routes so new routes are covered automatically:

- every route that takes an object id, called by another user with the owner's real id, answers
  exactly what it answers for an id that does not exist (404; 403 on operator routes): no route
  leaks, changes or deletes another user's object;
- every route that refuses an anonymous caller also refuses each JWT forgery of RFC 8725 with 401,
  including algorithm confusion against an RS256/JWKS configuration;
- JSON create routes reject fields the client may not set (mass assignment) with 400.
Token forgeries on a single route are in test_auth.py; upload size caps in test_upload_errors.py
(audio) and the resume tests (issue 4).
"""
from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.routing import Rule
from werkzeug.serving import make_server

from tests.support.client import ApiClient

SKIP_ENDPOINTS = {"static"}
FAKE_ID = "zz_does_not_exist_0000"


def _rules(app: Any) -> list[tuple[Rule, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def _path(rule: Rule, value: str) -> str:
    return rule.build({arg: value for arg in rule.arguments}, append_unknown=False)[1] if rule.arguments \
        else rule.rule


def _call(client: ApiClient, method: str, path: str) -> Any:
    """One request; the body is read only for non-streams (a stream that opened would be a leak)."""
    body = {} if method in ("POST", "PUT", "PATCH") else None
    r = client.request(method, path, json=body, timeout=(5, 10), stream=True)
    if not r.headers.get("Content-Type", "").startswith("text/event-stream"):
        r.content  # noqa: B018 - read now, so .json() works after close
    r.close()
    return r


def _created(r: Any, *keys: str) -> str | None:
    if r.status_code not in (200, 201, 202):
        return None
    data = r.json()["data"]
    for k in keys:
        if isinstance(data, dict) and data.get(k):
            return str(data[k])
    return None


def _owned_objects(owner: ApiClient) -> dict[str, str]:
    """Objects of every kind the owner can create here; the matrix uses their ids."""
    objs: dict[str, str | None] = {
        "job": _created(owner.post("/api/ops/canary", json={"payload": "owned"}), "job_id"),
        "practice": _created(owner.post("/session/start", json={"job_type": "software_engineer",
                                                                 "focus_area": "behavioral"}), "session_id"),
        "interview": _created(owner.post("/api/interviews", json={"title": "mine"}), "id", "interview_id"),
        "copilot": _created(owner.post("/api/copilot/sessions/start", json={"mode": "interview"}), "session_id", "id"),
        "resume": _created(owner.post("/api/resume", json={"title": "mine", "text": "Engineer. Python."}),
                           "id", "resume_id"),
        "batch": _created(owner.post("/api/resume/generate/batch",
                                     json={"resume_text": "Engineer. Python.", "job_descriptions": ["Go dev"]}),
                          "batch_id", "id"),
    }
    return {k: v for k, v in objs.items() if v}


def _kind_of(rule: Rule) -> str | None:
    args = set(rule.arguments)
    if "job_id" in args:
        return "job"
    if "interview_id" in args:
        return "interview"
    if "resume_id" in args:
        return "resume"
    if "batch_id" in args:
        return "batch"
    if "session_id" in args:
        return "copilot" if rule.rule.startswith("/api/copilot") else "practice"
    return None


def test_every_route_with_an_id_treats_another_users_object_as_absent(make_client, platform) -> None:  # noqa: ANN001
    owner = make_client(admin=True)
    intruder = make_client()
    objs = _owned_objects(owner)
    assert "job" in objs and "practice" in objs
    checked = []
    for rule, method in _rules(platform.app):
        if not rule.arguments:
            continue
        kind = _kind_of(rule)
        real = objs.get(kind or "")
        fake = _call(intruder, method, _path(rule, FAKE_ID))
        assert fake.status_code < 500, (method, rule.rule, fake.status_code)
        # 400 only where the body is validated before the lookup (an empty body is invalid): it then
        # answers the same for a real and a missing id, which the comparison below checks.
        allowed = (403, 404, 400) if method in ("POST", "PUT", "PATCH") else (403, 404)
        assert fake.status_code in allowed, (method, rule.rule, fake.status_code, fake.text[:300])
        if real is None:
            continue  # no object of this kind can be made here; the made-up id must still be a 404
        r = _call(intruder, method, _path(rule, real))
        assert (r.status_code, r.json().get("error")) == (fake.status_code, fake.json().get("error")), \
            f"{method} {rule.rule}: another user's id answers differently from a missing one"
        if fake.status_code == 403:
            assert rule.rule.startswith("/api/ops/"), f"{method} {rule.rule}: 403 outside operator routes"
        checked.append((method, rule.rule))
    assert len(checked) >= 5, checked
    # After all of that, the owner still sees every object unchanged.
    assert owner.get(f"/api/jobs/{objs['job']}").status_code == 200
    assert owner.get(f"/session/{objs['practice']}").status_code == 200
    for kind, prefix in (("interview", "/api/interviews/"), ("resume", "/api/resume/"),
                         ("copilot", "/api/copilot/sessions/"), ("batch", "/api/batches/")):
        if kind in objs:
            assert owner.get(prefix + objs[kind]).status_code == 200, kind


# --------------------------------------------------------------------------------- token forgeries


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def rsa_idp() -> Iterator[dict]:
    """An identity provider: an RSA key and a JWKS endpoint (a real HTTP peer) publishing its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "idp-1", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"key": key, "public_pem": public_pem, "url": f"http://127.0.0.1:{server.server_port}/jwks.json"}
    server.shutdown()


@pytest.fixture(scope="module")
def idp_server(platform, rsa_idp) -> Iterator[str]:  # noqa: ANN001
    """The same platform, also accepting RS256 tokens of the IdP (as with Clerk / Auth0)."""
    from webapp import create_app

    settings = platform.settings.replace(jwt_jwks_url=rsa_idp["url"], jwt_algorithms=("HS256", "RS256"))
    server = make_server("127.0.0.1", 0, create_app(settings, runtime=platform.runtime), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _claims(settings: Any, **over: Any) -> dict:
    now = int(time.time())
    return {"sub": "forger@example.com", "email": "forger@example.com", "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience, "iat": now, "nbf": now, "exp": now + 600, "typ": "access", **over}


def _forgeries(settings: Any, idp: dict) -> dict[str, str]:
    from core import tokens

    rs = lambda claims, **h: jwt.encode(claims, idp["key"], algorithm="RS256", headers={"kid": "idp-1", **h})  # noqa: E731
    hs = lambda claims: jwt.encode(claims, settings.secret_key, algorithm="HS256")  # noqa: E731
    now = int(time.time())
    # Algorithm confusion: HS256 "signed" with the IdP's public key, which an attacker can download.
    confusion = ".".join([_b64({"alg": "HS256", "typ": "JWT", "kid": "idp-1"}), _b64(_claims(settings))])
    import hashlib
    import hmac

    sig = hmac.new(idp["public_pem"], confusion.encode(), hashlib.sha256).digest()
    confusion += "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    return {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(settings))}.",
        "alg_None_rs_kid": f"{_b64({'alg': 'None', 'kid': 'idp-1'})}.{_b64(_claims(settings))}.",
        "hs256_with_idp_public_key": confusion,
        "rs256_expired": rs(_claims(settings, iat=now - 7200, nbf=now - 7200, exp=now - 3600)),
        "rs256_not_yet_valid": rs(_claims(settings, nbf=now + 3600)),
        "rs256_wrong_audience": rs(_claims(settings, aud="another-app")),
        "rs256_wrong_issuer": rs(_claims(settings, iss="https://evil.example")),
        "rs256_unknown_kid": rs(_claims(settings), kid="idp-unknown"),
        "rs256_other_key": jwt.encode(_claims(settings), rsa.generate_private_key(65537, 2048), algorithm="RS256",
                                      headers={"kid": "idp-1"}),
        "hs256_expired": hs(_claims(settings, iat=now - 7200, nbf=now - 7200, exp=now - 3600)),
        "session_as_access": tokens.mint_session_token(settings, "usr_x", "sess_x"),
        "stream_as_access": tokens.mint_stream_token(settings, "usr_x", "job:job_x"),
    }


def test_every_protected_route_refuses_every_forgery_and_accepts_the_idps_token(platform, rsa_idp,
                                                                               idp_server) -> None:  # noqa: ANN001
    anon = ApiClient(idp_server, None)
    protected = []
    for rule, method in _rules(platform.app):
        path = _path(rule, FAKE_ID)
        r = _call(anon, method, path)
        if r.status_code == 401:
            protected.append((method, path))
    assert len(protected) >= 10, protected
    for name, token in _forgeries(platform.settings, rsa_idp).items():
        forged = ApiClient(idp_server, token)
        for method, path in protected:
            r = _call(forged, method, path)
            assert r.status_code == 401, f"{name}: {method} {path} answered {r.status_code}"
            assert r.json()["stage"] == "auth"
    # The positive control: a genuine IdP token is accepted.
    genuine = jwt.encode(_claims(platform.settings, sub="idp-user-1", email="idp-user@example.com"), rsa_idp["key"],
                         algorithm="RS256", headers={"kid": "idp-1"})
    assert ApiClient(idp_server, genuine).get("/api/jobs").status_code == 200


# ------------------------------------------------------------------------------------ mass assignment

FORBIDDEN_FIELDS = {"user_id": "usr_someone_else", "id": "chosen_id", "status": "succeeded", "is_admin": True,
                    "created_at": "2020-01-01T00:00:00Z", "attempts": 0}
CREATES = [
    ("POST", "/session/start", {"job_type": "software_engineer", "focus_area": "behavioral"}, False),
    ("POST", "/api/ops/canary", {"payload": 1}, True),
    ("POST", "/api/ops/canaries", {"count": 2}, True),
    ("POST", "/api/interviews", {"title": "t"}, False),
    ("POST", "/api/copilot/sessions/start", {"mode": "interview"}, False),
    ("POST", "/api/resume", {"title": "t", "text": "Engineer."}, False),
    ("PUT", "/api/settings/llm", {"provider": "local"}, False),
]


@pytest.mark.parametrize("method,path,valid,admin", CREATES, ids=[c[1] for c in CREATES])
def test_fields_a_client_may_not_set_are_rejected(method: str, path: str, valid: dict, admin: bool,
                                                  make_client, platform) -> None:  # noqa: ANN001
    if not any(r.rule == path and method in (r.methods or ()) for r in platform.app.url_map.iter_rules()):
        pytest.skip(f"{method} {path} is not served by this build")
    client = make_client(admin=admin)
    for field, value in FORBIDDEN_FIELDS.items():
        r = client.request(method, path, json={**valid, field: value})
        assert r.status_code == 400, (field, r.status_code, r.text)
        assert r.json()["stage"] == "validation"
        assert any(field in str(d.get("path")) for d in r.json()["details"]), r.json()["details"]
    ok = client.request(method, path, json=valid)
    assert ok.status_code < 300, ok.text
