"""What a job function receives besides its database session: identity, settings, storage and the
means to report progress. Built by the worker; tests build one directly with `JobContext.for_test`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from core.config import Settings
from core.errors import JobCancelled
from core.storage import LocalStorage

Reporter = Callable[[str, str, dict], None]  # (stream, event type, data)


@dataclass
class JobContext:
    job_id: str
    kind: str
    settings: Settings
    storage: LocalStorage
    user_id: str | None = None
    request_id: str | None = None
    tracked_skill_id_hash: str | None = None
    tracked_skill_id: str | None = None  # the raw id, unsealed from the message: forwarded to providers, never stored
    attempt: int = 1
    reporter: Reporter | None = None
    cancelled: Callable[[], bool] = lambda: False
    artifact: dict | None = None
    usage: dict = field(default_factory=dict)
    deferred: list = field(default_factory=list)
    progress_log: list = field(default_factory=list)  # kept for direct (test) runs without a reporter

    @property
    def stream(self) -> str:
        return f"job:{self.job_id}"

    def emit(self, stream: str, type: str, data: dict) -> None:
        if self.reporter is not None:
            self.reporter(stream, type, data)
        else:
            self.progress_log.append((stream, type, data))

    def after_commit(self, stream: str, type: str, data: dict) -> None:
        """An event about rows this job writes: emitted once its transaction has committed."""
        self.deferred.append((stream, type, data))

    def progress(self, stage: str, pct: float, **extra: Any) -> None:
        self.check_cancelled()
        self.emit(self.stream, "progress", {"stage": stage, "pct": round(max(0.0, min(1.0, pct)), 4), **extra})

    def partial(self, data: dict) -> None:
        self.emit(self.stream, "partial", data)

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise JobCancelled("job was cancelled", stage="cancelled")

    def set_artifact(self, key: str, name: str, content_type: str) -> None:
        self.artifact = {"key": key, "name": name, "type": content_type}

    def add_usage(self, **counts: int | float) -> None:
        for k, v in counts.items():
            self.usage[k] = self.usage.get(k, 0) + v

    @classmethod
    def for_test(cls, settings: Settings, storage: LocalStorage, **kw: Any) -> "JobContext":
        return cls(job_id=kw.pop("job_id", "job_test"), kind=kw.pop("kind", "test"), settings=settings,
                   storage=storage, **kw)
