"""Rate limits: one token bucket per client and policy, shared through Redis by every web process."""
from __future__ import annotations

import uuid

import requests

from tests.functional.servers import web_process


def _token(platform, email: str | None = None) -> str:  # noqa: ANN001
    from core.tokens import mint_access_token

    email = email or f"rl-{uuid.uuid4().hex[:8]}@example.com"
    return mint_access_token(platform.settings, email, email=email)


def test_two_web_processes_share_one_limit_and_exactly_the_limit_passes(platform) -> None:  # noqa: ANN001
    prefix = f"rl-{uuid.uuid4().hex[:8]}"
    with web_process(platform, rate_limits_enabled=True, rate_limit_default="7/hour", redis_prefix=prefix) as a, \
            web_process(platform, rate_limits_enabled=True, rate_limit_default="7/hour", redis_prefix=prefix) as b:
        headers = {"Authorization": f"Bearer {_token(platform)}"}
        responses = [requests.get((a, b)[i % 2] + "/auth/me", headers=headers, timeout=10) for i in range(20)]
    passed = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(passed) == 7 and len(limited) == 13
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in passed] == [6, 5, 4, 3, 2, 1, 0]
    for r in responses:
        assert r.headers["X-RateLimit-Limit"] == "7"
        assert r.headers["RateLimit-Policy"] == '"default";q=7;w=3600'
        assert r.headers["RateLimit"].startswith('"default";r=')
        assert int(r.headers["X-RateLimit-Reset"]) > 0
    for r in limited:
        body = r.json()
        assert body["stage"] == "rate_limit" and r.headers["X-Stage"] == "rate_limit"
        assert body["data"] is None and "rate limit" in body["error"]
        assert 1 <= int(r.headers["Retry-After"]) <= 3600 / 7 + 1
        assert r.headers["X-RateLimit-Remaining"] == "0"


def test_llm_and_copilot_routes_have_their_own_limits(platform) -> None:  # noqa: ANN001
    with web_process(platform, rate_limits_enabled=True, rate_limit_llm="2/minute",
                     rate_limit_copilot="3/minute", rate_limit_routes=("/auth/me=4/hour",)) as url:
        h = {"Authorization": f"Bearer {_token(platform)}"}
        llm = [requests.post(url + "/api/llm", json={}, headers=h, timeout=10) for _ in range(3)]
        copilot = [requests.get(url + "/api/copilot/sessions/history", headers=h, timeout=10) for _ in range(4)]
        me = requests.get(url + "/auth/me", headers=h, timeout=10)
    assert [r.status_code == 429 for r in llm] == [False, False, True]
    assert llm[0].headers["RateLimit-Policy"] == '"llm";q=2;w=60'
    assert [r.status_code == 429 for r in copilot] == [False, False, False, True]
    assert copilot[0].headers["RateLimit-Policy"] == '"copilot";q=3;w=60'
    assert me.headers["RateLimit-Policy"] == '"route:/auth/me";q=4;w=3600'


def test_anonymous_clients_are_keyed_by_ip_and_user_agent_and_forwarded_headers_need_a_trusted_proxy(
        platform) -> None:  # noqa: ANN001
    with web_process(platform, rate_limits_enabled=True, rate_limit_default="2/hour") as url:
        spoofed = [requests.get(url + "/auth/me", headers={"User-Agent": "ua-1", "X-Forwarded-For": f"10.0.0.{i}"},
                                timeout=10).status_code for i in range(3)]
        other_agent = requests.get(url + "/auth/me", headers={"User-Agent": "ua-2"}, timeout=10).status_code
    assert spoofed == [401, 401, 429], "X-Forwarded-For from an untrusted peer does not make a new client"
    assert other_agent == 401
    with web_process(platform, rate_limits_enabled=True, rate_limit_default="1/hour",
                     trusted_proxies=("127.0.0.1/32",)) as url:
        proxied = [requests.get(url + "/auth/me", headers={"User-Agent": "ua", "X-Forwarded-For": f"10.0.0.{i}"},
                                timeout=10).status_code for i in range(3)]
        repeat = requests.get(url + "/auth/me", headers={"User-Agent": "ua", "X-Forwarded-For": "10.0.0.1"},
                              timeout=10).status_code
    assert proxied == [401, 401, 401] and repeat == 429


def test_refusals_are_counted_by_route_method_status_and_mode(platform) -> None:  # noqa: ANN001
    with web_process(platform, rate_limits_enabled=True, rate_limit_default="1/hour") as url:
        h = {"Authorization": f"Bearer {_token(platform)}"}
        for _ in range(3):
            requests.get(url + "/auth/me", headers=h, timeout=10)
        text = requests.get(url + "/metrics", timeout=10).text
    # Ours and document 001's name ("coachup_ui_api_rate_limited_total{route,method,status,mode}").
    for name in ("voicemock_api_rate_limited_total", "coachup_ui_api_rate_limited_total"):
        line = next(l for l in text.splitlines() if l.startswith(name + "{") and 'route="/auth/me"' in l)
        assert 'method="GET"' in line and 'status="429"' in line and 'mode="redis"' in line
        assert float(line.rsplit(" ", 1)[1]) >= 2


def test_guests_are_limited_per_address_whatever_the_user_agent_and_per_deployment(platform) -> None:  # noqa: ANN001
    """Issue 13 item 13: 120 guests from one address with rotating User-Agents was 120/120."""
    with web_process(platform, rate_limits_enabled=True, allow_guest=True, rate_limit_guest="3/hour",
                     rate_limit_guest_total="5/hour", trusted_proxies=("127.0.0.1/32",)) as url:
        rotated = [requests.post(url + "/auth/guest", headers={"User-Agent": f"agent-{i}"}, timeout=10)
                   for i in range(5)]
        assert [r.status_code for r in rotated] == [201, 201, 201, 429, 429]
        assert rotated[-1].json()["details"]["policy"] == "guest"
        # Other addresses (through a trusted proxy) have their own 3, but the deployment only 5 in all.
        others = [requests.post(url + "/auth/guest", headers={"X-Forwarded-For": f"10.1.0.{i}"}, timeout=10)
                  for i in range(4)]
        assert [r.status_code for r in others] == [201, 201, 429, 429]
        assert others[-1].json()["details"]["policy"] == "guest-deployment"


def test_a_users_session_token_and_access_token_share_one_bucket(platform) -> None:  # noqa: ANN001
    from tests.support.client import data

    with web_process(platform, rate_limits_enabled=True, rate_limit_default="4/hour") as url:
        bearer = {"Authorization": f"Bearer {_token(platform)}"}
        started = requests.post(url + "/session/start", json={"job_type": "software_engineer",
                                                              "focus_area": "behavioral"}, headers=bearer, timeout=10)
        session = {"X-Session-Token": data(started)["token"]}
        sid = data(started)["session_id"]
        answers = [requests.get(url + "/auth/me", headers=bearer, timeout=10),
                   requests.get(url + f"/session/{sid}", headers=session, timeout=10),
                   requests.get(url + f"/session/{sid}", headers=session, timeout=10),
                   requests.get(url + "/auth/me", headers=bearer, timeout=10)]
    # One bucket of 4: the start, then 3 more whichever token; separate buckets would let all through.
    assert [r.status_code == 429 for r in answers] == [False, False, False, True], [r.status_code for r in answers]


def test_a_route_that_makes_guests_counts_against_guest_creation(platform) -> None:  # noqa: ANN001
    """POST /session/start without credentials makes a guest: the same per-address limit applies."""
    body = {"job_type": "software_engineer", "focus_area": "behavioral"}
    with web_process(platform, rate_limits_enabled=True, allow_guest=True, rate_limit_guest="2/hour") as url:
        answers = [requests.post(url + "/session/start", json=body, headers={"User-Agent": f"ua-{i}"}, timeout=10)
                   for i in range(3)]
        guest = requests.post(url + "/auth/guest", timeout=10)
    assert [r.status_code for r in answers][:2] == [201, 201], [r.text[:200] for r in answers]
    assert answers[2].status_code == 429 and guest.status_code == 429
