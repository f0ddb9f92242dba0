"""Settings: the only place that reads the environment (through pydantic-settings).

`Settings.from_env()` builds a frozen object once; everything else receives it. Tests pass overrides:
`Settings.from_env(env={...})` or `settings.replace(...)`. `Settings(...)` alone never reads the
environment: it is the defaults plus its arguments. A variable set to "" counts as unset, except for a
text setting (kept as "") and a list (empty).

Embedded mode (no DATABASE_URL and no REDIS_URL): SQLite under ./var, in-process broker, bus and
scheduler. Production mode: Postgres + Redis (or RabbitMQ for the broker), secrets required.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Mapping

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

SECRET_FIELDS = {"secret_key", "cron_secret", "openai_api_key", "stripe_secret_key", "stripe_webhook_secret",
                 "metrics_token",
                 "tracking_secret", "database_url", "redis_url", "broker_url"}


class ConfigError(RuntimeError):
    """Start-up cannot go on: the message says which variable to set."""


List = Annotated[tuple[str, ...], NoDecode]  # "a,b" from the environment (";" for schedule_crons), not JSON


class Settings(BaseSettings):
    """Each field reads VOICEMOCK_<FIELD> unless its alias names another variable."""

    model_config = SettingsConfigDict(env_prefix="VOICEMOCK_", frozen=True, populate_by_name=True, extra="ignore")

    mode: str = "embedded"  # embedded | production
    data_dir: str = "var"
    data_dir_source: str = "default"  # how data_dir was chosen (said at start-up and by `voicemock config`)
    database_url: str = Field("sqlite:///var/voicemock.db", validation_alias="DATABASE_URL")
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    broker_url: str | None = Field(None, validation_alias="BROKER_URL")
    redis_prefix: str = "vm"
    storage_dir: str = "var/storage"
    # auth
    secret_key: str = ""
    jwt_issuer: str = "voicemock"
    jwt_audience: str = "voicemock"
    jwt_algorithms: List = ("HS256",)
    jwt_jwks_url: str | None = Field(None, validation_alias="VOICEMOCK_JWKS_URL")
    access_token_ttl: int = 24 * 3600
    session_token_ttl: int = 4 * 3600
    stream_token_ttl: int = 3600
    # PostgreSQL: seconds a web process may serve an account it read without reading it again; any
    # change to an account's authorisation drops them all at once (core/principal_cache.py); 0: off
    principal_cache_seconds: float = 5.0
    admin_emails: List = ()
    allow_guest: bool = True
    cron_secret: str = ""
    tracking_secret: str = ""
    # X-Tracked-Skill-Id-Hash: plain SHA-256 (document 001) unless a deployment opts into HMAC-SHA256
    tracking_keyed_hash: bool = False
    # http
    cors_origins: List = ("*",)
    trusted_proxies: List = ()
    max_audio_bytes: int = 25 * 1024 * 1024
    max_resume_bytes: int = 5 * 1024 * 1024
    max_audio_seconds: float = 600.0
    # seconds a client may take to send a request body (0 = unbounded); see README "Behind a reverse proxy"
    body_read_timeout: float = 60.0
    # Live answers (issue 16): a live turn with no new chunk for this long is finished with what it has;
    # one chunk of a live turn is at most this big (the whole turn obeys max_audio_bytes/seconds).
    live_idle_seconds: float = 15.0
    live_chunk_max_bytes: int = 1024 * 1024
    rate_limit_default: str = "100/minute"
    rate_limit_llm: str = "10/minute"
    rate_limit_copilot: str = "30/minute"
    # POST /auth/guest: per client address (never its user agent), and for the whole deployment
    rate_limit_guest: str = "20/hour"
    rate_limit_guest_total: str = "500/hour"
    rate_limits_enabled: bool = Field(True, validation_alias="VOICEMOCK_RATE_LIMITS")
    # per-route overrides, "PATH_PREFIX=N/period" (e.g. "/api/resume/generate=5/minute")
    rate_limit_routes: List = ()
    # plan quota overrides, "PLAN=SESSIONS/AUDIO_MINUTES" per month (e.g. "free=3/10"); see core/plans.py
    plan_quotas: List = ()
    scheduler_interval: float = 5.0
    # per-entry cron overrides for `voicemock scheduler`, "NAME=CRON" separated by ";" (see scheduler/schedule.py)
    schedule_crons: List = ()
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    # web /metrics: served to these networks (direct connections only, not through a proxy) or to
    # `Authorization: Bearer <metrics_token>`
    metrics_allow: List = ("127.0.0.1/32", "::1/128")
    metrics_token: str = ""
    sse_heartbeat_seconds: float = Field(15.0, validation_alias="VOICEMOCK_SSE_HEARTBEAT")
    # speech
    stt_model: str | None = None
    stt_compute_type: str = "int8"
    stt_cpu_threads: int = Field(0, validation_alias="VOICEMOCK_STT_THREADS")
    stt_beam_size: int = 1
    # llm
    llm_provider: str = "local"
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.3
    llm_timeout: float = 30.0
    openai_api_key: str | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    # billing
    stripe_secret_key: str | None = Field(None, validation_alias="STRIPE_SECRET_KEY")
    stripe_webhook_secret: str | None = Field(None, validation_alias="STRIPE_WEBHOOK_SECRET")
    # jobs
    job_max_retries: int = 3
    job_min_backoff_ms: int = 1000
    job_max_backoff_ms: int = 60_000
    sweeper_stale_seconds: int = 120
    worker_threads: int = 4
    worker_poll_ms: int = 1000  # longest idle wait between broker polls (the Redis doorbell wakes consumers sooner)
    # address-space cap (RLIMIT_AS) per process that runs jobs (`voicemock worker`, `voicemock dev`), in MB; 0 = no cap
    worker_memory_mb: int = 4096
    heartbeat_timeout_ms: int = 60_000
    broker_maintenance_chance: int = 1000
    job_lease_seconds: int = 30
    # PostgreSQL: seconds to get a connection, and that a statement may run (the server cancels it;
    # a server that does not answer at all is given up on 2 s later, see core/pgwait.py)
    db_connect_timeout: float = 3.0
    db_statement_timeout: float = 30.0
    # retention (days)
    retention_audio_days: int = 30
    retention_transcripts_days: int = 365
    retention_events_days: int = 30
    retention_jobs_days: int = 90
    retention_copilot_days: int = 90
    retention_idempotency_hours: int = 24
    # logging
    log_json: bool = False
    log_level: str = "INFO"
    extra: Mapping[str, str] = Field(default_factory=dict, exclude=True)

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @classmethod
    def settings_customise_sources(cls, settings_cls: Any, init_settings: Any, **_: Any) -> tuple[Any, ...]:
        return (init_settings,)  # from_env passes the environment in

    @field_validator("*", mode="before")
    @classmethod
    def _from_text(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[info.field_name or ""]
        if not isinstance(value, str) or field.annotation is str:
            return value
        if field.annotation == tuple[str, ...]:
            return tuple(x.strip() for x in value.split(";" if info.field_name == "schedule_crons" else ",")
                         if x.strip())
        return field.default if value == "" else value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        env = dict(os.environ if env is None else env)
        try:
            s = cls(**{**_Environment(cls, env)(), **overrides})
        except ValidationError as exc:
            raise _config_error(exc) from None
        given = s.model_fields_set
        database_url = s.database_url if "database_url" in given else None
        mode = s.mode if s.mode and "mode" in given else ("production" if database_url or s.redis_url else "embedded")
        data_dir, data_dir_source = resolve_data_dir(env)
        if mode == "embedded":
            database_url = database_url or f"sqlite:///{Path(data_dir) / 'voicemock.db'}"
        elif not database_url:
            raise ConfigError("production mode needs DATABASE_URL (postgresql+psycopg2://…)")
        secret_key = s.secret_key
        if not secret_key:
            if mode == "embedded":
                secret_key = _embedded_secret(data_dir)
            else:
                raise ConfigError("production mode needs VOICEMOCK_SECRET_KEY (at least 32 random characters)")
        if mode != "embedded" and len(secret_key) < 32:
            raise ConfigError("VOICEMOCK_SECRET_KEY must be at least 32 characters")
        derived = dict(
            mode=mode, data_dir=data_dir, data_dir_source=data_dir_source, database_url=database_url,
            secret_key=secret_key, broker_url=s.broker_url or s.redis_url,
            storage_dir=s.storage_dir if "storage_dir" in given else str(Path(data_dir) / "storage"),
            allow_guest=s.allow_guest if "allow_guest" in given else mode == "embedded",
            cron_secret=s.cron_secret or (secret_key[:16] + "-cron" if mode == "embedded" else ""),
            tracking_secret=s.tracking_secret or secret_key,
            worker_metrics_host=s.worker_metrics_host or "127.0.0.1",
            stt_beam_size=max(1, s.stt_beam_size),
            llm_provider=s.llm_provider if "llm_provider" in given else ("openai" if s.openai_api_key else "local"),
            log_json=s.log_json if "log_json" in given else mode != "embedded",
            log_level=s.log_level.upper(),
        )
        return s.replace(**{**derived, **overrides})

    def replace(self, **changes: object) -> "Settings":
        return self.model_copy(update=changes)

    def masked(self) -> dict[str, object]:
        """The effective settings with secrets masked, for `voicemock config`."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value:
                value = _mask(str(value))
            elif isinstance(value, str) and "://" in value:  # e.g. OPENAI_BASE_URL, a JWKS URL with a key
                value = mask_url(value)
            if isinstance(value, tuple):
                value = list(value)
            if name == "extra":
                continue
            out[name] = value
        return out


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ, or a test's dict)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k if self.case_sensitive else k.lower(): v for k, v in self._given.items()}


def _config_error(exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else "?"
    var = name if name.isupper() else f"VOICEMOCK_{name.upper()}"
    what = {"int_parsing": "an integer", "float_parsing": "a number"}.get(err["type"])
    if what:
        return ConfigError(f"{var} must be {what}, got {err['input']!r}")
    return ConfigError(f"{var}: {err['msg']}, got {err['input']!r}")


def _mask(value: str) -> str:
    if "://" in value:
        return mask_url(value)
    return value[:2] + "***" if len(value) > 6 else "***"


_SECRET_QUERY = ("password", "passwd", "pwd", "secret", "token", "key", "apikey", "api_key", "access_token",
                 "auth", "credential", "signature", "sig")


def mask_url(value: str) -> str:
    """A URL with its credentials hidden, parsed (not pattern-matched): the whole userinfo (user and
    password) and any query parameter named like a secret. The scheme, host,
    port, path and the other parameters stay readable."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(value)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]  # the last @ ends the userinfo: p@ssw0rd stays hidden
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, "***" if any(s in k.lower() for s in _SECRET_QUERY) else v) for k, v in pairs],
                              safe="*")
        if netloc == parts.netloc and query == parts.query:
            return value  # nothing to hide; urlunsplit would also drop the empty host of sqlite:////path
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "***"


def resolve_data_dir(env: Mapping[str, str]) -> tuple[str, str]:
    """The data directory (absolute) and how it was chosen. VOICEMOCK_DATA_DIR when set; else `var/` of
    the checkout when VoiceMock runs from a source checkout (setup.cfg and .git beside the packages,
    as `make run` and `pip install -e .` do); else the per-user data directory of platformdirs
    (`~/.local/share/voicemock` on Linux). Never the working directory: every command, run from
    anywhere, finds the same database and secret."""
    raw = env.get("VOICEMOCK_DATA_DIR")
    if raw:
        return str(Path(raw).expanduser().resolve()), "VOICEMOCK_DATA_DIR"
    root = Path(__file__).resolve().parent.parent
    if (root / "setup.cfg").is_file() and (root / ".git").exists():
        return str(root / "var"), "the checkout's var/ (running from a source checkout)"
    from platformdirs import user_data_dir

    return user_data_dir("voicemock", appauthor=False), "the per-user data directory (platformdirs)"


def _embedded_secret(data_dir: str) -> str:
    """A per-installation secret for embedded mode, kept in var/ so tokens survive restarts."""
    path = Path(data_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value
