"""The LLM proxy (JSON and SSE) and per-user LLM settings, with both engines."""
from __future__ import annotations

import json
from typing import Iterator

import pytest

from tests.support.client import ApiClient, data
from tests.support.fake_openai import FakeOpenAI
from tests.support.llm_engines import MODEL, fake_openai, openai_configured, use_engine  # noqa: F401 - fixture

MESSAGES = [{"role": "system", "content": "You are a coach."},
            {"role": "user", "content": "I led the rollout of our new search service. It cut latency by half."}]


@pytest.fixture(params=["local", "openai"])
def engine(request, platform, fake_openai: FakeOpenAI, client: ApiClient) -> Iterator[str]:  # noqa: ANN001
    with use_engine(platform, fake_openai, request.param, client):
        yield request.param


def _sse(resp) -> list[tuple[str, dict]]:  # noqa: ANN001
    events, kind = [], "message"
    for line in resp.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            events.append((kind, json.loads(line[5:])))
    return events


def test_the_proxy_answers_through_the_configured_provider(client: ApiClient, engine: str,
                                                           fake_openai: FakeOpenAI) -> None:
    r = client.post("/api/llm", json={"messages": MESSAGES, "model": "gpt-proxy"},
                    headers={"X-Request-Id": "req-proxy-1"})
    assert r.status_code == 200, r.text
    out = data(r)
    assert out["provider"] == engine and out["model"] == "gpt-proxy"
    if engine == "openai":
        assert out["content"].startswith("Fake model reply to: I led the rollout")
        (req,) = fake_openai.chat_requests()
        assert req.model == "gpt-proxy" and req.messages == MESSAGES and req.body["temperature"] == 0.2
        assert req.header("X-Request-ID") == "req-proxy-1" and out["usage"]["llm_calls"] == 1
    else:
        assert "search service" in out["content"] and fake_openai.chat_requests() == []


def test_a_streamed_proxy_call_sends_token_deltas_then_done(client: ApiClient, engine: str) -> None:
    with client.post("/api/llm", json={"messages": MESSAGES, "stream": True}, stream=True) as r:
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        events = _sse(r)
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and kinds.count("delta") > 3 and set(kinds[:-1]) == {"delta"}
    assert "".join(e["delta"] for k, e in events if k == "delta") == events[-1][1]["content"]
    assert events[-1][1]["provider"] == engine


@pytest.mark.parametrize("engine", ["openai"], indirect=True)  # the local engine has no provider to fail
def test_a_provider_rejection_before_the_first_token_is_a_clear_error(client: ApiClient, engine: str,
                                                                      fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(400)
    r = client.post("/api/llm", json={"messages": MESSAGES, "stream": True})
    assert r.status_code == 422 and r.json()["stage"] == "llm" and r.headers["X-Stage"] == "llm"


def test_proxy_input_is_validated(client: ApiClient) -> None:
    assert client.post("/api/llm", json={"messages": []}).status_code == 400
    r = client.post("/api/llm", json={"messages": [{"role": "robot", "content": "x"}]})
    assert r.status_code == 400 and r.json()["details"][0]["path"].startswith("messages.0.role")
    assert client.post("/api/llm", json={"messages": MESSAGES, "temperature": 3}).status_code == 400
    assert client.post("/api/llm", json={"messages": MESSAGES, "model": "bad model!"}).status_code == 400


def test_llm_settings_are_validated_per_user_and_default_to_the_installation(client: ApiClient, make_client,  # noqa: ANN001
                                                                             platform, fake_openai: FakeOpenAI) -> None:  # noqa: ANN001
    got = data(client.get("/api/settings/llm"))
    assert got["provider"] == "local" and got["source"] == "default" and got["available_providers"] == ["local"]
    r = client.put("/api/settings/llm", json={"provider": "openai"})
    assert r.status_code == 422, "openai cannot be chosen where no key is configured"
    assert client.put("/api/settings/llm", json={"provider": "mystery"}).status_code == 400
    assert client.put("/api/settings/llm", json={"provider": "local", "temperature": 2.5}).status_code == 400
    assert client.put("/api/settings/llm", json={"provider": "local", "api_key": "x"}).status_code == 400
    with openai_configured(platform, fake_openai):
        r = client.put("/api/settings/llm", json={"provider": "openai", "model": MODEL, "temperature": 1.1})
        assert data(r) | {"available_providers": None} == {"provider": "openai", "model": MODEL, "temperature": 1.1,
                                                          "source": "user", "available_providers": None}
        other = make_client()
        assert data(other.get("/api/settings/llm"))["provider"] == "local", "settings are per user"
