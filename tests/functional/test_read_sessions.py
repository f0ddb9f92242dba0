"""Reads need no transaction: a GET's statements run on autocommit connections (no BEGIN before them,
no ROLLBACK after); a POST's writes commit in one transaction, except a job created by a request that
writes nothing else, which is one statement committed by itself; through HTTP on PostgreSQL."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event

from tests.support.client import ApiClient, data


_recording: dict[str, list | None] = {"seen": None}
_hooked: set[int] = set()  # the engines whose events already feed `_recording`
_checked_out = threading.local()  # .engine: the engine whose pool this thread last checked out from


def _in_request() -> bool:
    return "process_request" in threading.current_thread().name


def _hook(engines: dict) -> None:  # noqa: ANN001
    """Listen to each engine's cursor and pool checkout events once, for the whole session. Removing
    a listener while the worker checks out a connection races SQLAlchemy's dispatch ("deque mutated
    during iteration" in the job), so the listeners stay and record only inside the block."""
    for name, engine in engines.items():
        if id(engine) in _hooked:
            continue
        _hooked.add(id(engine))

        def hook(conn, _cursor, statement, *_args, _name=name) -> None:  # noqa: ANN001
            seen = _recording["seen"]
            if seen is not None and _in_request():
                seen.append((_name, bool(conn.connection.driver_connection.autocommit), statement))

        def checkout(_dbapi_conn, _record, _proxy, _name=name) -> None:  # noqa: ANN001
            _checked_out.engine = _name
        event.listen(engine, "before_cursor_execute", hook)
        event.listen(engine.pool, "checkout", checkout)


def _quiet(db, timeout: float = 30.0) -> None:  # noqa: ANN001
    """Wait until the worker runs no job and none was just queued (earlier tests' jobs finished;
    a job some test left queued long ago, its message never sent, does not count)."""
    from sqlalchemy import text

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            if not conn.execute(text(
                    "SELECT count(*) FROM jobs WHERE status = 'running' OR (status = 'queued' "
                    "AND enqueued_at > timezone('utc', now()) - interval '5 seconds')")).scalar_one():
                return
        time.sleep(0.05)


@contextmanager
def statements_of_requests(platform) -> Iterator[list[tuple[str, bool, str]]]:  # noqa: ANN001
    """(engine, autocommit, statement) of every statement the HTTP server's request threads send:
    through SQLAlchemy's connections (its cursor events), and the prepared statements that
    core.prepared runs on the driver's cursor of a pooled connection (the pool's checkout event
    names the engine; a spy on `prepared._execute`, which changes nothing, names the statement)."""
    from core import prepared

    db = platform.runtime.db
    engines = {"main": db.engine, "reader": db.reader_engine, "autocommit": db.autocommit}
    if not all(id(e) in _hooked for e in engines.values()):
        _quiet(db)  # adding a listener while a job checks out a connection races the same way
        _hook(engines)
    seen: list[tuple[str, bool, str]] = []
    execute = prepared._execute  # noqa: SLF001

    def spy(conn, cursor, stmt, params):  # noqa: ANN001, ANN202
        if _in_request() and _recording["seen"] is not None:
            seen.append((getattr(_checked_out, "engine", "?"), bool(conn.driver_connection.autocommit),
                         stmt.execute))
        return execute(conn, cursor, stmt, params)

    prepared._execute = spy  # noqa: SLF001
    _recording["seen"] = seen
    try:
        yield seen
    finally:
        _recording["seen"] = None
        prepared._execute = execute  # noqa: SLF001


def test_a_get_reads_outside_any_transaction_and_a_post_writes_in_one(platform, admin_client: ApiClient) -> None:  # noqa: ANN001
    from core import principals, transitions

    data(admin_client.get("/auth/me"))  # the account exists: what follows only reads it
    platform.app.extensions["voicemock"].principals.forget()  # as if it had just changed
    with statements_of_requests(platform) as seen:
        job = data(admin_client.post("/api/ops/canary", json={}))
    # The caller's account is read, the job's row and `queued` event are written, each by one prepared
    # statement on an autocommit connection; the job's on the pool whose commits wait for the WAL flush.
    assert seen and all(autocommit and engine != "main" for engine, autocommit, _ in seen), seen
    executed = [(engine, s) for engine, _, s in seen if s.startswith("EXECUTE")]
    assert [s.split(" ")[1] for _, s in executed] == [principals.BY_SUBJECT.name, transitions.CREATE_ALONE.name]
    assert executed[1][0] == "reader", executed
    assert admin_client.wait_job(job["job_id"])["status"] == "succeeded"
    # The next request finds the account kept (core/principal_cache.py): the job is its only statement.
    with statements_of_requests(platform) as seen:
        job = data(admin_client.post("/api/ops/canary", json={}))
    assert [s.split(" ")[1] for _, _, s in seen] == [transitions.CREATE_ALONE.name], seen

    with statements_of_requests(platform) as seen:  # a POST that writes more commits it all at once
        interview = data(admin_client.post("/api/interviews", json={}))
    writes = [(engine, autocommit) for engine, autocommit, s in seen if s.startswith("INSERT")]
    assert writes and all(engine == "main" and not autocommit for engine, autocommit in writes), seen

    # A POST that only checks what it may touch before a job: the check reads outside any transaction,
    # the job is one statement.
    with statements_of_requests(platform) as seen:
        job = data(admin_client.post(f"/api/interviews/{interview['id']}/questions", json={"count": 1}))
    assert seen and all(autocommit and engine != "main" for engine, autocommit, _ in seen), seen
    assert any("FROM interviews" in s for _, _, s in seen)
    assert any(transitions.CREATE_ALONE.name in s for _, _, s in seen)
    assert admin_client.wait_job(job["job_id"])["status"] == "succeeded"

    with statements_of_requests(platform) as seen:
        got = data(admin_client.get(f"/api/jobs/{job['job_id']}"))
        events = admin_client.sse(f"/api/jobs/{job['job_id']}/events")
    assert got["status"] == "succeeded" and events[-1].type == "succeeded"
    assert seen and all(engine != "main" and autocommit for engine, autocommit, _ in seen), seen
    assert any("FROM events" in s for _, _, s in seen)  # the stream's replay


def test_a_get_that_starts_a_job_still_writes_it_whole(client: ApiClient) -> None:
    """GET /api/interviews/{id}/report enqueues its job from a read session: the row and its `queued`
    event are one statement, so the job exists, runs and its stream starts at `queued`."""
    iid = data(client.post("/api/interviews", json={}))["id"]
    r = client.get(f"/api/interviews/{iid}/report", headers={"Prefer": "respond-async"})
    assert r.status_code in (200, 202), r.text
    if r.status_code == 202:
        job_id = data(r)["job_id"]
        assert client.wait_job(job_id)["status"] == "succeeded"
        events = client.sse(f"/api/jobs/{job_id}/events")
        assert [e.type for e in events][0] == "queued" and events[-1].type == "succeeded"
    assert client.get(f"/api/interviews/{iid}/report").status_code == 200
