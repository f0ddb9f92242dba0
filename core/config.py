"""Settings: the only place that reads the environment.

`Settings.from_env()` builds a frozen object once; everything else receives it. Tests pass overrides:
`Settings.from_env(env={...})` or `dataclasses.replace(settings, ...)`.

Embedded mode (no DATABASE_URL and no REDIS_URL): SQLite under ./var, in-process broker, bus and
scheduler. Production mode: Postgres + Redis (or RabbitMQ for the broker), secrets required.
"""
from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

SECRET_FIELDS = {"secret_key", "cron_secret", "openai_api_key", "stripe_secret_key", "stripe_webhook_secret",
                 "metrics_token",
                 "tracking_secret", "database_url", "redis_url", "broker_url"}


class ConfigError(RuntimeError):
    """Start-up cannot go on: the message says which variable to set."""


def _bool(v: str | None, default: bool) -> bool:
    if v is None or v == "":
        return default
    return v.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from exc


def _list(v: str | None, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    if v is None:
        return default
    return tuple(x.strip() for x in v.split(",") if x.strip())


@dataclass(frozen=True)
class Settings:
    mode: str = "embedded"  # embedded | production
    data_dir: str = "var"
    data_dir_source: str = "default"  # how data_dir was chosen (said at start-up and by `voicemock config`)
    database_url: str = "sqlite:///var/voicemock.db"
    redis_url: str | None = None
    broker_url: str | None = None
    redis_prefix: str = "vm"
    storage_dir: str = "var/storage"
    # auth
    secret_key: str = ""
    jwt_issuer: str = "voicemock"
    jwt_audience: str = "voicemock"
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_jwks_url: str | None = None
    access_token_ttl: int = 24 * 3600
    session_token_ttl: int = 4 * 3600
    stream_token_ttl: int = 3600
    admin_emails: tuple[str, ...] = ()
    allow_guest: bool = True
    cron_secret: str = ""
    tracking_secret: str = ""
    # X-Tracked-Skill-Id-Hash: plain SHA-256 (document 001) unless a deployment opts into HMAC-SHA256
    tracking_keyed_hash: bool = False
    # http
    cors_origins: tuple[str, ...] = ("*",)
    trusted_proxies: tuple[str, ...] = ()
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
    rate_limits_enabled: bool = True
    # per-route overrides, "PATH_PREFIX=N/period" (e.g. "/api/resume/generate=5/minute")
    rate_limit_routes: tuple[str, ...] = ()
    # plan quota overrides, "PLAN=SESSIONS/AUDIO_MINUTES" per month (e.g. "free=3/10"); see core/plans.py
    plan_quotas: tuple[str, ...] = ()
    scheduler_interval: float = 5.0
    # per-entry cron overrides for `voicemock scheduler`, "NAME=CRON" separated by ";" (see scheduler/schedule.py)
    schedule_crons: tuple[str, ...] = ()
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    # web /metrics: served to these networks (direct connections only, not through a proxy) or to
    # `Authorization: Bearer <metrics_token>`
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    metrics_token: str = ""
    sse_heartbeat_seconds: float = 15.0
    # speech
    stt_model: str | None = None
    stt_compute_type: str = "int8"
    stt_cpu_threads: int = 0
    stt_beam_size: int = 1
    # llm
    llm_provider: str = "local"
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.3
    llm_timeout: float = 30.0
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    # billing
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
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
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        env = dict(os.environ if env is None else env)
        database_url = env.get("DATABASE_URL") or None
        redis_url = env.get("REDIS_URL") or None
        mode = env.get("VOICEMOCK_MODE") or ("production" if (database_url or redis_url) else "embedded")
        data_dir, data_dir_source = resolve_data_dir(env)
        if mode == "embedded":
            database_url = database_url or f"sqlite:///{Path(data_dir) / 'voicemock.db'}"
        elif not database_url:
            raise ConfigError("production mode needs DATABASE_URL (postgresql+psycopg2://…)")
        secret_key = env.get("VOICEMOCK_SECRET_KEY", "")
        if not secret_key:
            if mode == "embedded":
                secret_key = _embedded_secret(data_dir)
            else:
                raise ConfigError("production mode needs VOICEMOCK_SECRET_KEY (at least 32 random characters)")
        if mode != "embedded" and len(secret_key) < 32:
            raise ConfigError("VOICEMOCK_SECRET_KEY must be at least 32 characters")
        values: dict[str, object] = dict(
            mode=mode,
            data_dir=data_dir,
            data_dir_source=data_dir_source,
            database_url=database_url,
            redis_url=redis_url,
            broker_url=env.get("BROKER_URL") or redis_url,
            redis_prefix=env.get("VOICEMOCK_REDIS_PREFIX", "vm"),
            storage_dir=env.get("VOICEMOCK_STORAGE_DIR", str(Path(data_dir) / "storage")),
            secret_key=secret_key,
            jwt_issuer=env.get("VOICEMOCK_JWT_ISSUER", "voicemock"),
            jwt_audience=env.get("VOICEMOCK_JWT_AUDIENCE", "voicemock"),
            jwt_algorithms=_list(env.get("VOICEMOCK_JWT_ALGORITHMS"), ("HS256",)),
            jwt_jwks_url=env.get("VOICEMOCK_JWKS_URL") or None,
            admin_emails=_list(env.get("VOICEMOCK_ADMIN_EMAILS")),
            allow_guest=_bool(env.get("VOICEMOCK_ALLOW_GUEST"), mode == "embedded"),
            cron_secret=env.get("VOICEMOCK_CRON_SECRET") or (secret_key[:16] + "-cron" if mode == "embedded" else ""),
            tracking_secret=env.get("VOICEMOCK_TRACKING_SECRET") or secret_key,
            tracking_keyed_hash=_bool(env.get("VOICEMOCK_TRACKING_KEYED_HASH"), False),
            cors_origins=_list(env.get("VOICEMOCK_CORS_ORIGINS"), ("*",)),
            trusted_proxies=_list(env.get("VOICEMOCK_TRUSTED_PROXIES")),
            max_audio_bytes=_int(env, "VOICEMOCK_MAX_AUDIO_BYTES", 25 * 1024 * 1024),
            max_resume_bytes=_int(env, "VOICEMOCK_MAX_RESUME_BYTES", 5 * 1024 * 1024),
            max_audio_seconds=_float(env, "VOICEMOCK_MAX_AUDIO_SECONDS", 600.0),
            body_read_timeout=_float(env, "VOICEMOCK_BODY_READ_TIMEOUT", 60.0),
            live_idle_seconds=_float(env, "VOICEMOCK_LIVE_IDLE_SECONDS", 15.0),
            live_chunk_max_bytes=_int(env, "VOICEMOCK_LIVE_CHUNK_MAX_BYTES", 1024 * 1024),
            rate_limit_default=env.get("VOICEMOCK_RATE_LIMIT_DEFAULT", "100/minute"),
            rate_limit_llm=env.get("VOICEMOCK_RATE_LIMIT_LLM", "10/minute"),
            rate_limit_copilot=env.get("VOICEMOCK_RATE_LIMIT_COPILOT", "30/minute"),
            rate_limit_guest=env.get("VOICEMOCK_RATE_LIMIT_GUEST", "20/hour"),
            rate_limit_guest_total=env.get("VOICEMOCK_RATE_LIMIT_GUEST_TOTAL", "500/hour"),
            rate_limits_enabled=_bool(env.get("VOICEMOCK_RATE_LIMITS"), True),
            rate_limit_routes=_list(env.get("VOICEMOCK_RATE_LIMIT_ROUTES")),
            plan_quotas=_list(env.get("VOICEMOCK_PLAN_QUOTAS")),
            scheduler_interval=_float(env, "VOICEMOCK_SCHEDULER_INTERVAL", 5.0),
            schedule_crons=tuple(x.strip() for x in env.get("VOICEMOCK_SCHEDULE_CRONS", "").split(";") if x.strip()),
            worker_metrics_port=_int(env, "VOICEMOCK_WORKER_METRICS_PORT", 0),
            worker_metrics_host=env.get("VOICEMOCK_WORKER_METRICS_HOST") or "127.0.0.1",
            metrics_allow=_list(env.get("VOICEMOCK_METRICS_ALLOW"), ("127.0.0.1/32", "::1/128")),
            metrics_token=env.get("VOICEMOCK_METRICS_TOKEN", ""),
            sse_heartbeat_seconds=_float(env, "VOICEMOCK_SSE_HEARTBEAT", 15.0),
            stt_model=env.get("VOICEMOCK_STT_MODEL") or None,
            stt_compute_type=env.get("VOICEMOCK_STT_COMPUTE_TYPE", "int8"),
            stt_cpu_threads=_int(env, "VOICEMOCK_STT_THREADS", 0),
            stt_beam_size=max(1, _int(env, "VOICEMOCK_STT_BEAM_SIZE", 1)),
            llm_provider=env.get("VOICEMOCK_LLM_PROVIDER") or ("openai" if env.get("OPENAI_API_KEY") else "local"),
            llm_model=env.get("VOICEMOCK_LLM_MODEL", "gpt-4o-mini"),
            llm_temperature=_float(env, "VOICEMOCK_LLM_TEMPERATURE", 0.3),
            llm_timeout=_float(env, "VOICEMOCK_LLM_TIMEOUT", 30.0),
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            job_max_retries=_int(env, "VOICEMOCK_JOB_MAX_RETRIES", 3),
            job_min_backoff_ms=_int(env, "VOICEMOCK_JOB_MIN_BACKOFF_MS", 1000),
            job_max_backoff_ms=_int(env, "VOICEMOCK_JOB_MAX_BACKOFF_MS", 60_000),
            sweeper_stale_seconds=_int(env, "VOICEMOCK_SWEEPER_STALE_SECONDS", 120),
            worker_threads=_int(env, "VOICEMOCK_WORKER_THREADS", 4),
            worker_poll_ms=_int(env, "VOICEMOCK_WORKER_POLL_MS", 1000),
            worker_memory_mb=_int(env, "VOICEMOCK_WORKER_MEMORY_MB", 4096),
            heartbeat_timeout_ms=_int(env, "VOICEMOCK_HEARTBEAT_TIMEOUT_MS", 60_000),
            broker_maintenance_chance=_int(env, "VOICEMOCK_BROKER_MAINTENANCE_CHANCE", 1000),
            job_lease_seconds=_int(env, "VOICEMOCK_JOB_LEASE_SECONDS", 30),
            db_connect_timeout=_float(env, "VOICEMOCK_DB_CONNECT_TIMEOUT", 3.0),
            db_statement_timeout=_float(env, "VOICEMOCK_DB_STATEMENT_TIMEOUT", 30.0),
            retention_audio_days=_int(env, "VOICEMOCK_RETENTION_AUDIO_DAYS", 30),
            retention_transcripts_days=_int(env, "VOICEMOCK_RETENTION_TRANSCRIPTS_DAYS", 365),
            retention_events_days=_int(env, "VOICEMOCK_RETENTION_EVENTS_DAYS", 30),
            retention_jobs_days=_int(env, "VOICEMOCK_RETENTION_JOBS_DAYS", 90),
            retention_copilot_days=_int(env, "VOICEMOCK_RETENTION_COPILOT_DAYS", 90),
            retention_idempotency_hours=_int(env, "VOICEMOCK_RETENTION_IDEMPOTENCY_HOURS", 24),
            log_json=_bool(env.get("VOICEMOCK_LOG_JSON"), mode != "embedded"),
            log_level=env.get("VOICEMOCK_LOG_LEVEL", "INFO").upper(),
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> "Settings":
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def masked(self) -> dict[str, object]:
        """The effective settings with secrets masked, for `voicemock config`."""
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = _mask(str(value))
            elif isinstance(value, str) and "://" in value:  # e.g. OPENAI_BASE_URL, a JWKS URL with a key
                value = mask_url(value)
            if isinstance(value, tuple):
                value = list(value)
            if f.name == "extra":
                continue
            out[f.name] = value
        return out


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
