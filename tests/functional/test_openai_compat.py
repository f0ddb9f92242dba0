"""`/v1`: the official `openai` SDK talks to VoiceMock as to OpenAI (base_url=<server>/v1, a VoiceMock token
as the API key), on both engines: the local one and an OpenAI provider (the fake OpenAI server)."""
from __future__ import annotations

from typing import Iterator

import openai
import pytest
import requests

from tests.support.client import ApiClient
from tests.support.fake_openai import FakeOpenAI
from tests.support.llm_engines import MODEL, fake_openai, use_engine  # noqa: F401 - fixture

ASK = "I led the rollout of our new search service. It cut latency by half."


@pytest.fixture(params=["local", "openai"])
def engine(request, platform, fake_openai: FakeOpenAI, client: ApiClient) -> Iterator[str]:  # noqa: ANN001
    with use_engine(platform, fake_openai, request.param, client):
        yield request.param


def _sdk(platform, client: ApiClient, **kw) -> openai.OpenAI:  # noqa: ANN001, ANN003
    token = client.token
    return openai.OpenAI(base_url=platform.base_url + "/v1", api_key=token, max_retries=0, **kw)


def test_the_sdk_gets_a_chat_completion(platform, client: ApiClient, engine: str,  # noqa: ANN001
                                        fake_openai: FakeOpenAI) -> None:
    sdk = _sdk(platform, client, default_headers={"X-Tracked-Skill-Id": "skill-42"})
    raw = sdk.chat.completions.with_raw_response.create(
        model=MODEL, max_tokens=200, n=2, temperature=0.1, seed=7, user="someone",
        messages=[{"role": "developer", "content": "You are a coach."},
                  {"role": "user", "content": [{"type": "text", "text": ASK}]}],
        extra_headers={"X-Request-Id": "req-v1-completion"})
    done = raw.parse()
    assert raw.headers["X-Request-ID"] == "req-v1-completion"
    assert raw.headers["X-Tracked-Skill-Id-Hash"]
    assert done.object == "chat.completion" and done.model == MODEL and len(done.choices) == 2
    assert [c.index for c in done.choices] == [0, 1] and done.choices[0].finish_reason == "stop"
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens > 0
    if engine == "openai":
        assert done.choices[0].message.content.startswith("Fake model reply to: I led the rollout")
        first = fake_openai.chat_requests()[0]
        assert first.messages[0] == {"role": "system", "content": "You are a coach."}
        assert first.header("X-Request-ID") == "req-v1-completion"
        assert first.header("X-Tracked-Skill-Id") == "skill-42" and first.header("X-Tracked-Skill-Id-Hash")
    else:
        assert "search service" in done.choices[0].message.content


def test_the_sdk_streams_chunks_ending_with_usage(platform, client: ApiClient, engine: str) -> None:  # noqa: ANN001
    sdk = _sdk(platform, client)
    stream = sdk.chat.completions.create(model=MODEL, stream=True, stream_options={"include_usage": True},
                                         messages=[{"role": "user", "content": ASK}])
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert ("Fake model reply to: I led" if engine == "openai" else "search service") in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_the_raw_stream_ends_with_done(platform, client: ApiClient) -> None:  # noqa: ANN001
    r = client.post("/v1/chat/completions", stream=True,
                    json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": ASK}]})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    lines = [x for x in r.iter_lines(decode_unicode=True) if x]
    assert lines[-1] == "data: [DONE]" and all(x.startswith("data: ") for x in lines)


def test_max_tokens_and_stop_are_applied(platform, client: ApiClient) -> None:  # noqa: ANN001
    sdk = _sdk(platform, client)
    short = sdk.chat.completions.create(model=MODEL, max_tokens=3, messages=[{"role": "user", "content": ASK}])
    assert len(short.choices[0].message.content.split()) == 3 and short.choices[0].finish_reason == "length"
    stopped = sdk.chat.completions.create(model=MODEL, stop=["search"], stream=False,
                                          messages=[{"role": "user", "content": ASK}])
    assert "search" not in stopped.choices[0].message.content and stopped.choices[0].finish_reason == "stop"
    streamed = sdk.chat.completions.create(model=MODEL, stop="search", stream=True,
                                           messages=[{"role": "user", "content": ASK}])
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert text == stopped.choices[0].message.content


def test_models_are_listed(platform, client: ApiClient) -> None:  # noqa: ANN001
    sdk = _sdk(platform, client)
    ids = [m.id for m in sdk.models.list()]
    assert platform.settings.llm_model in ids
    assert sdk.models.retrieve(ids[0]).id == ids[0]
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("no-such-model")


def test_errors_are_openai_error_objects(platform, client: ApiClient) -> None:  # noqa: ANN001
    bad = openai.OpenAI(base_url=platform.base_url + "/v1", api_key="not-a-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    sdk = _sdk(platform, client)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]}])
    assert caught.value.body["type"] == "invalid_request_error" and caught.value.body["param"].startswith("messages.0")
    r = requests.post(platform.base_url + "/v1/chat/completions", json={"model": MODEL, "messages": [], "bogus": 1},
                      headers=client.headers())
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_v1_shares_the_llm_rate_limit_bucket(platform, client: ApiClient) -> None:  # noqa: ANN001
    from webapp.ratelimit import RateLimiter, policies

    llm = [p for p in policies(platform.settings) if p.name == "llm"]
    assert {p.prefix for p in llm} == {"/api/llm", "/v1/chat/completions"}
    limiter = RateLimiter(platform.settings, store=None)  # type: ignore[arg-type]
    assert limiter.policy_for("/v1/chat/completions").name == limiter.policy_for("/api/llm").name == "llm"


def test_api_llm_is_documented_as_200(anon: ApiClient) -> None:
    spec = anon.get("/openapi.json").json()
    assert "200" in spec["paths"]["/api/llm"]["post"]["responses"]
    assert "201" not in spec["paths"]["/api/llm"]["post"]["responses"]
    assert "200" in spec["paths"]["/v1/chat/completions"]["post"]["responses"]
