"""Document 004, "## Authentication": "The client authenticates using Supabase Auth and includes session
cookies with requests". With `VOICEMOCK_JWKS_URL` set, the access token may come from the Supabase
auth cookie; unsafe methods authenticated by a cookie must come from an allowed Origin (CSRF)."""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.contract.seed import CREATE_INTERVIEW
from tests.functional.servers import web_process

KID = "contract-key"


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[str, object]]:
    """A JWKS endpoint like Supabase's, and the private key that signs its tokens."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": KID, "alg": "RS256",
           "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/auth/v1/.well-known/jwks.json", key
    server.shutdown()


def _token(settings, key) -> str:  # noqa: ANN001
    now = int(time.time())
    email = f"supa-{uuid.uuid4().hex[:8]}@example.com"
    claims = {"sub": str(uuid.uuid4()), "email": email, "role": "authenticated", "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def _cookie(token: str) -> str:
    session = json.dumps({"access_token": token, "token_type": "bearer", "refresh_token": "r"})
    return "base64-" + base64.urlsafe_b64encode(session.encode()).decode().rstrip("=")


def test_a_supabase_session_cookie_authenticates_and_unsafe_methods_need_an_allowed_origin(
        platform, idp) -> None:  # noqa: ANN001
    jwks_url, key = idp
    token = _token(platform.settings, key)
    cookies = {"sb-abcdefghijklmnop-auth-token": _cookie(token)}
    with web_process(platform, jwt_jwks_url=jwks_url, jwt_algorithms=("HS256", "RS256"),
                     cors_origins=("https://app.example.com",)) as url:
        assert requests.get(f"{url}/api/interviews", cookies=cookies, timeout=10).status_code == 200
        no_origin = requests.post(f"{url}/api/interviews", json=CREATE_INTERVIEW, cookies=cookies, timeout=10)
        assert no_origin.status_code == 403 and no_origin.headers["X-Stage"] == "auth"
        evil = requests.post(f"{url}/api/interviews", json=CREATE_INTERVIEW, cookies=cookies, timeout=10,
                             headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403
        for origin in ("https://app.example.com", url):  # a configured origin, and the server's own
            r = requests.post(f"{url}/api/interviews", json=CREATE_INTERVIEW, cookies=cookies, timeout=10,
                              headers={"Origin": origin})
            assert r.status_code == 201, r.text
        # Large sessions are split into chunks .0, .1, …; a bare sb-access-token works too.
        whole = _cookie(token)
        chunked = {"sb-abcdefghijklmnop-auth-token.0": whole[:100], "sb-abcdefghijklmnop-auth-token.1": whole[100:]}
        assert requests.get(f"{url}/api/interviews", cookies=chunked, timeout=10).status_code == 200
        assert requests.get(f"{url}/api/interviews", cookies={"sb-access-token": token},
                            timeout=10).status_code == 200
        # Bearer stays the default, and needs no Origin.
        r = requests.post(f"{url}/api/interviews", json=CREATE_INTERVIEW, timeout=10,
                          headers={"Authorization": f"Bearer {token}", "Origin": "https://evil.example"})
        assert r.status_code == 201
    # Without VOICEMOCK_JWKS_URL the cookie means nothing.
    assert requests.get(f"{platform.base_url}/api/interviews", cookies=cookies, timeout=10).status_code == 401
