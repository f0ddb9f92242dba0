"""X-Tracked-Skill-Id is stored and logged only as its SHA-256 hash; every log line of a request and of a
job carries the request id (and the job id)."""
from __future__ import annotations

import time

import hashlib
import io
import json
import logging
import uuid

import structlog
from sqlalchemy import JSON, String, Text, cast, or_, select

from tests.support.client import ApiClient, data


class _Capture:
    """A JSON handler on the root logger, as production configures it (core/logs.py)."""

    def __enter__(self) -> "_Capture":
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.contextvars.merge_contextvars, structlog.stdlib.add_log_level,
                               structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.JSONRenderer()]))
        root = logging.getLogger()
        self.level = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.level)

    def lines(self) -> list[dict]:
        return [json.loads(l) for l in self.stream.getvalue().splitlines() if l.startswith("{")]


def test_the_raw_skill_id_never_reaches_the_logs_or_the_database(platform, make_client) -> None:  # noqa: ANN001
    from core.db import Base

    raw = f"skill-RAW-{uuid.uuid4().hex}"
    c: ApiClient = make_client(admin=True)
    with _Capture() as cap:
        r = c.post("/api/ops/canary", json={"payload": {"note": "hello"}}, headers={"X-Tracked-Skill-Id": raw})
        assert r.status_code == 202
        job = c.wait_job(data(r)["job_id"])
    expected = hashlib.sha256(raw.encode()).hexdigest()  # document 001: the SHA-256 of the raw id
    assert r.headers["X-Tracked-Skill-Id-Hash"] == expected
    assert job["status"] == "succeeded"
    logged = cap.stream.getvalue()
    assert raw not in logged
    assert any(line.get("tracked_skill_id_hash") == expected for line in cap.lines())
    with platform.runtime.db.Session() as s:
        from core.models import Job

        assert s.get(Job, job["id"]).tracked_skill_id_hash == expected
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
            if not cols:
                continue
            hits = s.execute(select(table).where(or_(*[cast(col, Text).like(f"%{raw}%") for col in cols]))).all()
            assert not hits, f"the raw skill id is stored in {table.name}"


def test_every_log_line_of_a_request_and_its_job_carries_the_request_and_job_ids(make_client) -> None:  # noqa: ANN001
    c: ApiClient = make_client(admin=True)
    request_id = f"req-{uuid.uuid4().hex}"
    with _Capture() as cap:
        r = c.post("/api/ops/canary", json={"bad_input": True},
                   headers={"X-Request-ID": request_id, "X-Tracked-Skill-Id": "logs-test"})
        job = c.wait_job(data(r)["job_id"])
    assert r.headers["X-Request-ID"] == request_id and data(r)["job_id"] == job["id"]
    assert job["status"] == "failed" and job["request_id"] == request_id
    ours = [l for l in cap.lines() if l.get("request_id") == request_id or l.get("job_id") == job["id"]]
    web = [l for l in ours if l.get("logger") == "voicemock.tracking"]
    worker = [l for l in ours if l.get("logger") == "voicemock.worker"]
    assert web and worker, cap.stream.getvalue()[-2000:]
    assert all(l["request_id"] == request_id for l in web)
    assert all(l["job_id"] == job["id"] and l["request_id"] == request_id for l in worker)
    stray = [l for l in cap.lines() if l.get("logger", "").startswith("voicemock.worker")
             and job["id"] in l.get("event", "") and l.get("job_id") != job["id"]]
    assert not stray


def test_metrics_show_queue_depth_job_rows_dead_letters_and_workers(platform, anon: ApiClient,  # noqa: ANN001
                                                                     admin_client: ApiClient) -> None:
    from workers import liveness

    # A job runs first, so the duration histogram has a sample whatever ran before this test.
    canary = admin_client.post("/api/ops/canary", json={}).json()["data"]
    assert admin_client.wait_job(canary["job_id"])["status"] == "succeeded"

    import redis

    stop = liveness.start(platform.settings.redis_url, platform.settings.redis_prefix, interval=0.2)
    client = redis.Redis.from_url(platform.settings.redis_url)
    try:
        deadline = time.monotonic() + 5  # the heartbeat thread stamps asynchronously: wait for the first
        while not client.zcard(liveness.key(platform.settings.redis_prefix)) and time.monotonic() < deadline:
            time.sleep(0.05)
        text = anon.get("/metrics").text
    finally:
        stop.set()
    for name in ('voicemock_queue_depth{queue="stt"}', 'voicemock_dead_letters{queue="default"}',
                 "voicemock_workers ", "# TYPE voicemock_job_rows gauge", "voicemock_jobs_failed ",
                 "voicemock_job_duration_seconds_bucket{", "voicemock_http_http_request_total{"):
        assert name in text, f"{name} missing from /metrics"
    workers = next(l for l in text.splitlines() if l.startswith("voicemock_workers "))
    assert float(workers.split()[1]) >= 1
