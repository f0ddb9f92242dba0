"""The LLM layer against a real OpenAI-compatible HTTP peer (the SDK talks to tests/support/fake_openai)."""
from __future__ import annotations

from typing import Iterator

import pytest
from pydantic import BaseModel, Field

from core.config import Settings
from core.errors import BadInput, TransientError
from core.storage import LocalStorage
from jobs.context import JobContext
from jobs.llm import get_llm, resolve_config
from tests.support.fake_openai import FakeOpenAI


class Verdict(BaseModel):
    score: int = Field(ge=0, le=100)
    reasons: list[str] = Field(min_length=1)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    f = FakeOpenAI.start()
    yield f
    f.stop()


@pytest.fixture()
def openai_settings(fake: FakeOpenAI) -> Settings:
    fake.reset()
    return Settings(openai_api_key="sk-test", openai_base_url=fake.url, llm_provider="openai", llm_timeout=5.0)


@pytest.fixture()
def ctx(openai_settings: Settings, tmp_path) -> JobContext:  # noqa: ANN001
    return JobContext.for_test(openai_settings, LocalStorage(str(tmp_path)), request_id="req-123",
                               tracked_skill_id_hash="abc123hash")


def test_the_engine_is_local_without_a_key_and_openai_with_one(openai_settings: Settings) -> None:
    assert get_llm(Settings()).name == "local"
    assert get_llm(openai_settings).name == "openai"
    assert get_llm(openai_settings, {"provider": "local"}).name == "local"
    cfg = resolve_config(Settings(), {"model": "m-1", "temperature": 1.5})
    assert (cfg.provider, cfg.model, cfg.temperature) == ("local", "m-1", 1.5)


def test_choosing_openai_without_a_key_is_bad_input() -> None:
    with pytest.raises(BadInput):
        get_llm(Settings(), {"provider": "openai"})


def test_structured_output_is_parsed_and_usage_recorded(fake: FakeOpenAI, openai_settings: Settings,
                                                        ctx: JobContext) -> None:
    llm = get_llm(openai_settings, {"model": "gpt-test"}, ctx, tracked_skill_id="skill-42")
    fake.replies.append('{"score": 77, "reasons": ["clear"]}')
    out = llm.structured("judge", [{"role": "user", "content": "rate this"}], Verdict,
                         local=lambda: Verdict(score=1, reasons=["x"]))
    assert out == Verdict(score=77, reasons=["clear"])
    (req,) = fake.chat_requests()
    assert req.model == "gpt-test"
    assert req.header("X-Request-ID") == "req-123"
    assert req.header("X-Tracked-Skill-Id-Hash") == "abc123hash"
    assert req.header("X-Tracked-Skill-Id") == "skill-42"
    assert req.body["response_format"] == {"type": "json_object"}
    assert "JSON schema" in req.messages[0]["content"] and req.messages[-1]["content"] == "rate this"
    assert ctx.usage["llm_calls"] == 1 and ctx.usage["prompt_tokens"] > 0 and ctx.usage["completion_tokens"] == 4


def test_invalid_json_gets_one_repair_round_with_the_error(fake: FakeOpenAI, openai_settings: Settings,
                                                          ctx: JobContext) -> None:
    fake.invalid_json_once()
    out = get_llm(openai_settings, None, ctx).structured("judge", [{"role": "user", "content": "rate"}], Verdict,
                                                          local=lambda: Verdict(score=1, reasons=["x"]))
    assert 0 <= out.score <= 100
    first, second = fake.chat_requests()
    assert second.messages[-2] == {"role": "assistant", "content": '{"this is": not json'}
    assert "invalid" in second.messages[-1]["content"]
    assert ctx.usage["llm_calls"] == 2


def test_output_still_invalid_after_the_repair_is_a_transient_error(fake: FakeOpenAI, openai_settings: Settings,
                                                                   ctx: JobContext) -> None:
    fake.replies.extend(['{"score": 500, "reasons": []}', '{"score": 900, "reasons": []}'])
    with pytest.raises(TransientError):
        get_llm(openai_settings, None, ctx).structured("judge", [], Verdict, local=lambda: Verdict(score=1, reasons=["x"]))


def test_a_429_is_retried_by_the_sdk_and_then_succeeds(fake: FakeOpenAI, openai_settings: Settings) -> None:
    fake.fail_next(429)
    assert get_llm(openai_settings).chat([{"role": "user", "content": "hello"}]) == "Fake model reply to: hello"
    assert len(fake.chat_requests()) == 2


def test_persistent_5xx_is_transient_and_4xx_is_bad_input(fake: FakeOpenAI, openai_settings: Settings) -> None:
    fake.fail_next(500, times=3)  # the first call and the SDK's two retries
    with pytest.raises(TransientError):
        get_llm(openai_settings).chat([{"role": "user", "content": "x"}])
    fake.fail_next(400)
    with pytest.raises(BadInput):
        get_llm(openai_settings).chat([{"role": "user", "content": "x"}])


def test_streaming_yields_deltas_and_records_usage(fake: FakeOpenAI, openai_settings: Settings,
                                                   ctx: JobContext) -> None:
    deltas = list(get_llm(openai_settings, None, ctx).stream_chat([{"role": "user", "content": "one two three"}]))
    assert len(deltas) > 3 and "".join(deltas) == "Fake model reply to: one two three"
    (req,) = fake.chat_requests()
    assert req.body["stream"] is True and req.header("X-Request-ID") == "req-123"
    assert ctx.usage["llm_calls"] == 1 and ctx.usage["completion_tokens"] == 7


def test_the_local_engine_streams_a_deterministic_reply_word_by_word() -> None:
    llm = get_llm(Settings())
    msgs = [{"role": "user", "content": "I rebuilt our billing pipeline in Go. Latency fell by half."}]
    deltas = list(llm.stream_chat(msgs))
    assert len(deltas) > 5 and "".join(deltas) == llm.chat(msgs)
    assert "billing pipeline" in llm.chat(msgs)
    assert llm.structured("t", msgs, Verdict, local=lambda: Verdict(score=5, reasons=["r"])).score == 5
