"""One exception root for the whole platform.

Every error carries the HTTP status it maps to, the pipeline stage where it happened and optional
details. `webapp/errors.py` turns them into the envelope; workers use `retryable` to decide whether a
job is retried (transient) or failed at once (bad input).
"""
from __future__ import annotations

from typing import Any


class VoiceMockError(Exception):
    status: int = 500
    stage: str = "internal"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        stage: str | None = None,
        details: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if stage is not None:
            self.stage = stage
        if status is not None:
            self.status = status
        self.details = details if details is not None else {}
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "message": self.message}


class ValidationFailed(VoiceMockError):
    status = 400
    stage = "validation"

    def __init__(self, details: list[dict[str, str]], message: str = "Validation failed", **kw: Any) -> None:
        super().__init__(message, details=details, **kw)


class Unauthorized(VoiceMockError):
    status = 401
    stage = "auth"


class PaymentRequired(VoiceMockError):
    status = 402
    stage = "quota"


class Forbidden(VoiceMockError):
    status = 403
    stage = "auth"


class NotFound(VoiceMockError):
    status = 404
    stage = "lookup"


class Conflict(VoiceMockError):
    status = 409
    stage = "conflict"


class PayloadTooLarge(VoiceMockError):
    status = 413
    stage = "upload"


class UnsupportedMediaType(VoiceMockError):
    status = 415
    stage = "upload"


class Unprocessable(VoiceMockError):
    status = 422
    stage = "validation"


class DecodeError(Unprocessable):
    """Input that claims to be audio/a document but cannot be decoded."""

    stage = "decode"


class RateLimited(VoiceMockError):
    status = 429
    stage = "rate_limit"


class ServiceUnavailable(VoiceMockError):
    """A dependency (database, broker, provider) is down: nothing was lost, try again later."""

    status = 503
    stage = "dependency"
    retryable = True


class BadInput(VoiceMockError):
    """A job's input is unusable: the job fails at once, it is never retried."""

    status = 422
    stage = "input"


class TransientError(VoiceMockError):
    """A job hit a passing fault (provider 5xx/429, timeout): the job is retried with backoff."""

    status = 503
    stage = "dependency"
    retryable = True


class JobCancelled(VoiceMockError):
    status = 409
    stage = "cancelled"
