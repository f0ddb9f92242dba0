"""Switch the live test platform between LLM engines by configuration only.

The session-wide `platform` has no OPENAI_API_KEY, so every user runs on the local engine. `use_engine`
gives the platform's Settings (runtime and web app) an OpenAI key and base URL pointing at a fake
OpenAI-compatible server, and selects the engine for the test's users through `PUT /api/settings/llm`
— the same switch a deployment uses. The settings are restored afterwards.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest

from core.tokens import mint_access_token
from tests.support.client import ApiClient
from tests.support.fake_openai import FakeOpenAI

MODEL = "gpt-fake-1"


@contextmanager
def openai_configured(platform, fake: FakeOpenAI) -> Iterator[None]:  # noqa: ANN001
    state = platform.app.extensions["voicemock"]
    before_rt, before_app = platform.runtime.settings, state.settings
    configured = before_rt.replace(openai_api_key="sk-fake", openai_base_url=fake.url, llm_timeout=10.0)
    platform.runtime.settings = configured
    state.settings = before_app.replace(openai_api_key="sk-fake", openai_base_url=fake.url, llm_timeout=10.0)
    fake.reset()
    try:
        yield
    finally:
        platform.runtime.settings, state.settings = before_rt, before_app
        fake.reset()


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server for the module (import this fixture into a test module)."""
    fake = FakeOpenAI.start()
    yield fake
    fake.stop()


@contextmanager
def use_engine(platform, fake: FakeOpenAI, engine: str, *clients: ApiClient) -> Iterator[None]:  # noqa: ANN001
    """OpenAI configured on the platform, and `engine` selected for each of `clients`."""
    with openai_configured(platform, fake):
        for client in clients:
            select_engine(client, engine)
        yield


def select_engine(client: ApiClient, engine: str) -> None:
    r = client.put("/api/settings/llm", json={"provider": engine, "model": MODEL, "temperature": 0.2})
    assert r.status_code == 200, r.text


def new_client(platform, engine: str | None = None) -> ApiClient:  # noqa: ANN001
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    client = ApiClient(platform.base_url, mint_access_token(platform.settings, email, email=email))
    if engine:
        select_engine(client, engine)
    return client
