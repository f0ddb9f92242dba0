from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, Settings


def test_embedded_mode_is_the_default_and_keeps_its_secret_across_starts(tmp_path: Path) -> None:
    env = {"VOICEMOCK_DATA_DIR": str(tmp_path)}
    a, b = Settings.from_env(env=env), Settings.from_env(env=env)
    assert a.mode == "embedded" and a.database_url.startswith("sqlite:///")
    assert a.secret_key == b.secret_key and len(a.secret_key) >= 32
    assert a.allow_guest is True and a.redis_url is None


def test_production_mode_refuses_to_start_without_a_secret() -> None:
    with pytest.raises(ConfigError, match="VOICEMOCK_SECRET_KEY"):
        Settings.from_env(env={"DATABASE_URL": "postgresql+psycopg2://x@h/db", "REDIS_URL": "redis://h"})
    with pytest.raises(ConfigError, match="at least 32"):
        Settings.from_env(env={"DATABASE_URL": "postgresql+psycopg2://x@h/db", "VOICEMOCK_SECRET_KEY": "short"})
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env(env={"REDIS_URL": "redis://h", "VOICEMOCK_SECRET_KEY": "s" * 40})


def test_bad_numbers_are_named_in_the_error() -> None:
    with pytest.raises(ConfigError, match="VOICEMOCK_MAX_AUDIO_BYTES"):
        Settings.from_env(env={"VOICEMOCK_MAX_AUDIO_BYTES": "lots", "VOICEMOCK_DATA_DIR": "/tmp/vm-cfg"})


def test_masked_settings_hide_secrets_and_credentials() -> None:
    s = Settings.from_env(env={"DATABASE_URL": "postgresql+psycopg2://bob:hunter2@db:5432/vm",
                               "VOICEMOCK_SECRET_KEY": "k" * 40, "OPENAI_API_KEY": "sk-abcdefgh"})
    m = s.masked()
    assert "hunter2" not in str(m) and "k" * 40 not in str(m) and "sk-abcdefgh" not in str(m)
    assert m["database_url"] == "postgresql+psycopg2://***@db:5432/vm"
    assert m["llm_provider"] == "openai" and m["mode"] == "production"


def test_voicemock_config_masks_credentials_wherever_a_url_holds_them() -> None:
    """Issue 13 item 14: a password with an @, ?password= and credentials in base URLs never print."""
    from click.testing import CliRunner

    from cli.main import main

    env = {"DATABASE_URL": "postgresql+psycopg2://bob:pw@db/vm?password=qs-secret&sslmode=require",
           "REDIS_URL": "redis://:p@ssw0rd@cache:6379/0", "VOICEMOCK_SECRET_KEY": "k" * 40,
           "BROKER_URL": "amqp://rabbit:rabbit-secret@mq:5672//",
           "OPENAI_BASE_URL": "https://user:base-secret@llm.example.com/v1",
           "VOICEMOCK_JWKS_URL": "https://idp.example.com/jwks?api_key=jwks-secret&tenant=t1"}
    out = CliRunner().invoke(main, ["config"], env=env)
    assert out.exit_code == 0, out.output
    for secret in ("pw@", "qs-secret", "ssw0rd", "p@ss", "rabbit-secret", "base-secret", "jwks-secret"):
        assert secret not in out.output, secret
    shown = __import__("json").loads(out.stdout)
    assert shown["redis_url"] == "redis://***@cache:6379/0"
    assert shown["database_url"] == "postgresql+psycopg2://***@db/vm?password=***&sslmode=require"
    assert shown["openai_base_url"] == "https://***@llm.example.com/v1"
    assert shown["jwt_jwks_url"] == "https://idp.example.com/jwks?api_key=***&tenant=t1"


def test_a_url_without_credentials_is_shown_as_it_is() -> None:
    from core.config import mask_url

    for url in ("sqlite:////srv/voicemock/var/voicemock.db", "sqlite:///var/voicemock.db", "redis://cache:6379/0"):
        assert mask_url(url) == url
