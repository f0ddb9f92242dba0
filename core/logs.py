"""Structured logging: structlog over the standard library, JSON in production.

Request id, job id and actor are bound with `structlog.contextvars` per request or message and
cleared after, so every line carries them.
"""
from __future__ import annotations

import logging
import sys

import structlog


_configured = False


def ensure_logging(json_logs: bool, level: str) -> None:
    """Configure logging unless this process already did (the CLI, the worker entry, a test harness):
    the web app calls it, so under gunicorn every worker logs structured lines with request ids."""
    if not _configured:
        configure_logging(json_logs, level)


def configure_logging(json_logs: bool = False, level: str = "INFO") -> None:
    global _configured
    _configured = True
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    # JSON lines carry a traceback as text (the console renderer formats it itself).
    tracebacks = [structlog.processors.format_exc_info] if json_logs else []
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tracebacks, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("werkzeug", "faster_whisper", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
