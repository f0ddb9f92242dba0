"""Shared fixtures: real PostgreSQL and Redis (required when CI is set), a live platform (HTTP server,
Redis broker, in-process Dramatiq worker), users with tokens, and an SSE reader.

Each test session gets its own database (`voicemock_test_<pid>`, migrated with Alembic) and its own
Redis key prefix, so runs never see each other's data.
"""
from __future__ import annotations

import os
import secrets
import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.client import ApiClient
from tests.support.services import postgres_available, redis_available

FIXTURES = Path(__file__).parent / "fixtures"
IN_CI = bool(os.environ.get("CI"))
PG_ADMIN_URL = os.environ.get("VOICEMOCK_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("VOICEMOCK_TEST_REDIS", "redis://127.0.0.1:6379/9")


def _need(ok: bool, what: str) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{what} is required when CI is set, and it does not answer", pytrace=False)
    pytest.skip(f"{what} is not available on this machine")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    _need(postgres_available(PG_ADMIN_URL), "PostgreSQL")
    from sqlalchemy import create_engine, text

    name = f"voicemock_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    import migrations

    migrations.upgrade(url)
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    _need(redis_available(REDIS_TEST_URL), "Redis")
    return REDIS_TEST_URL


@pytest.fixture(scope="session")
def test_env(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a production-mode installation under test (also handed to subprocesses)."""
    data = tmp_path_factory.mktemp("var")
    return {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "VOICEMOCK_SECRET_KEY": "test-secret-" + "x" * 40,
        "VOICEMOCK_CRON_SECRET": "test-cron-secret",
        "VOICEMOCK_DATA_DIR": str(data),
        "VOICEMOCK_STORAGE_DIR": str(data / "storage"),
        "VOICEMOCK_REDIS_PREFIX": f"vmtest{os.getpid()}",
        "VOICEMOCK_ADMIN_EMAILS": "admin@example.com",
        "VOICEMOCK_JOB_MIN_BACKOFF_MS": "100",
        "VOICEMOCK_JOB_MAX_BACKOFF_MS": "500",
        "VOICEMOCK_SSE_HEARTBEAT": "1",
        "VOICEMOCK_LOG_JSON": "1",
        "VOICEMOCK_RATE_LIMITS": "0",
    }


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]):  # noqa: ANN201
    from core.config import Settings

    return Settings.from_env(env=test_env)


@pytest.fixture(scope="session")
def platform(settings) -> Iterator["Platform"]:  # noqa: ANN001
    from tests.support.platform import Platform

    p = Platform.start(settings)
    yield p
    p.stop()


@pytest.fixture()
def db_session(platform):  # noqa: ANN001, ANN201
    """A session inside a transaction that is rolled back after the test."""
    from sqlalchemy.orm import Session

    conn = platform.runtime.db.engine.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    trans.rollback()
    conn.close()


@pytest.fixture()
def make_client(platform):  # noqa: ANN001, ANN201
    """`make_client(email=None, admin=False)` → an ApiClient signed in as a fresh user."""
    from core.tokens import mint_access_token

    def make(email: str | None = None, *, admin: bool = False) -> ApiClient:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        token = mint_access_token(platform.settings, email, email=email, admin=admin)
        return ApiClient(platform.base_url, token)

    return make


@pytest.fixture()
def client(make_client) -> ApiClient:  # noqa: ANN001
    return make_client()


@pytest.fixture()
def admin_client(make_client) -> ApiClient:  # noqa: ANN001
    return make_client(f"admin-{uuid.uuid4().hex[:6]}@example.com", admin=True)


@pytest.fixture()
def anon(platform) -> ApiClient:  # noqa: ANN001
    return ApiClient(platform.base_url, None)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    threading.excepthook = _quiet_thread_errors(threading.excepthook)


def _quiet_thread_errors(prev):  # noqa: ANN001, ANN202
    def hook(args):  # noqa: ANN001, ANN202
        if args.exc_type is SystemExit:
            return
        prev(args)

    return hook
