"""A job's state changes and the events announcing them, committed together.

Each transition is a conditional UPDATE of the job row plus the next numbered event of its stream,
in one transaction: the event exists exactly when the change applied. On PostgreSQL the pair is one
statement (a data-modifying CTE) on the autocommit engine, so a transition costs one round trip
instead of a transaction's half dozen (pre-ping, BEGIN, SET, UPDATE, number, INSERT, COMMIT). On
SQLite (embedded mode) it is `EventLog.emit(..., also=<the jobstore UPDATE>)` in a session.

These are the hottest statements of the platform: every job runs `claim`, usually `progress`, and
`finish`, each a server-side prepared statement (core/prepared.py: planned once per connection).
The slow, rare paths (a claim refused, a retry re-queue) stay with `core.jobstore`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core import jobstore, prepared
from core.clock import iso, utcnow
from core.events import Event, EventLog, number_and_insert, to_json
from core.models.jobs import TERMINAL, EventStream, Job, JobEvent

CLAIM_SQL = """WITH c AS (
  UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = %(now)s, stage = 'started',
                  lease_until = %(lease)s
  WHERE id = %(id)s AND NOT cancel_requested
    AND (status = 'queued' OR (status = 'running' AND lease_until < %(now)s))
  RETURNING id, kind, attempts, args, user_id, request_id, tracked_skill_id_hash),""" + number_and_insert(
    "c", data="json_build_object('attempt', c.attempts, 'kind', c.kind)", also=", c") + """
SELECT c.id, c.kind, c.attempts, c.args, c.user_id, c.request_id, c.tracked_skill_id_hash, e.seq FROM c, e"""

# `(status = 'running') IS TRUE`, not `status = 'running'`: the latter lets the planner pick the status
# index (its estimate for 'running' ties with the primary key's one row), and that scan walks every
# running job, and every dead index entry of one, on each progress report.
PROGRESS_SQL = """WITH r AS (
  UPDATE jobs SET lease_until = %(lease)s, stage = COALESCE(%(stage)s, stage),
                  progress = COALESCE(%(progress)s, progress)
  WHERE id = %(id)s AND (status = 'running') IS TRUE RETURNING id),""" + number_and_insert(
    "(SELECT 1) AS one") + " SELECT e.seq FROM e"

# The columns a finish may set besides status/finished_at/lease_until, and how each is bound.
_FINISH_COLUMNS = {"progress": "%(progress)s", "stage": "%(stage)s", "error": "CAST(%(error)s AS json)",
                   "result": "CAST(%(result)s AS json)", "usage": "CAST(%(usage)s AS json)",
                   "artifact_key": "%(artifact_key)s", "artifact_name": "%(artifact_name)s",
                   "artifact_type": "%(artifact_type)s"}
_JSON_COLUMNS = frozenset({"error", "result", "usage"})
_finish_sql: dict[tuple[tuple[str, ...], bool], prepared.Prepared] = {}
CLAIM = prepared.Prepared.of(CLAIM_SQL, "claim")
PROGRESS = prepared.Prepared.of(PROGRESS_SQL, "progress")


# A finish that also stores the job's last progress report (one the event lane had not written yet:
# workers/execution.py) numbers two events at once, the progress event first.
_LAST_PROGRESS_AND_TERMINAL = (("'progress'", "CAST(%(progress_data)s AS json)"),
                                ("%(type)s", "CAST(%(data)s AS json)"))


def _finish_statement(columns: tuple[str, ...], with_progress: bool = False) -> prepared.Prepared:
    stmt = _finish_sql.get((columns, with_progress))
    if stmt is None:
        sets = "".join(f", {c} = {_FINISH_COLUMNS[c]}" for c in columns)
        terminal = ", ".join(f"'{t}'" for t in TERMINAL)
        events = number_and_insert("f", events=_LAST_PROGRESS_AND_TERMINAL if with_progress else ())
        sql = (f"WITH f AS (UPDATE jobs SET status = %(status)s, finished_at = %(now)s, lease_until = NULL{sets}"
               f" WHERE id = %(id)s AND status NOT IN ({terminal}) RETURNING id)," + events
               + " SELECT max(e.seq) AS seq FROM e HAVING count(*) > 0")
        stmt = _finish_sql[(columns, with_progress)] = prepared.Prepared.of(sql, "finish")
    return stmt


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs of the row it just claimed, so it does not read it again."""

    id: str
    kind: str
    attempts: int
    args: dict
    user_id: str | None
    request_id: str | None
    tracked_skill_id_hash: str | None

    @classmethod
    def of(cls, row: Any) -> "ClaimedJob":
        """From anything with the job's columns as attributes (a claimed ORM row, a RETURNING row)."""
        return cls(id=row.id, kind=row.kind, attempts=row.attempts, args=row.args or {}, user_id=row.user_id,
                   request_id=row.request_id, tracked_skill_id_hash=row.tracked_skill_id_hash)


CREATE_SQL = """WITH j AS (
  INSERT INTO jobs (id, kind, queue, status, progress, attempts, args, user_id, subject_id, batch_id, request_id,
                    idempotency_key, tracked_skill_id_hash, cancel_requested, created_at, enqueued_at)
  VALUES (%(id)s, %(kind)s, %(queue)s, 'queued', 0, 0, CAST(%(args)s AS json), %(user_id)s, %(subject_id)s,
          %(batch_id)s, %(request_id)s, %(idempotency_key)s, %(tracked_skill_id_hash)s, false, %(now)s, %(now)s)
  RETURNING id),
s AS (INSERT INTO event_streams (name, last_seq) SELECT %(stream)s, 1 FROM j RETURNING last_seq)
INSERT INTO events (stream, seq, type, data, created_at) SELECT %(stream)s, 1, %(type)s, CAST(%(data)s AS json), %(now)s FROM s"""


CREATE_ALONE = prepared.Prepared.of(CREATE_SQL + " RETURNING seq", "create")

# `CREATE_SQL` for many jobs at once: each parameter is an array with one element per job.
_BATCH_COLUMNS = ("id", "kind", "queue", "args", "user_id", "subject_id", "batch_id", "request_id",
                  "idempotency_key", "tracked_skill_id_hash", "stream", "data")
CREATE_BATCH_SQL = """WITH x AS (
  SELECT * FROM unnest(""" + ", ".join(f"CAST(%({c})s AS text[])" for c in _BATCH_COLUMNS) + """,
                       CAST(%(now)s AS timestamp[]))
    AS x(""" + ", ".join(_BATCH_COLUMNS) + """, at)),
j AS (
  INSERT INTO jobs (id, kind, queue, status, progress, attempts, args, user_id, subject_id, batch_id, request_id,
                    idempotency_key, tracked_skill_id_hash, cancel_requested, created_at, enqueued_at)
  SELECT id, kind, queue, 'queued', 0, 0, CAST(args AS json), user_id, subject_id, batch_id, request_id,
         idempotency_key, tracked_skill_id_hash, false, at, at FROM x
  RETURNING id),
s AS (INSERT INTO event_streams (name, last_seq) SELECT x.stream, 1 FROM j JOIN x USING (id) RETURNING name),
e AS (INSERT INTO events (stream, seq, type, data, created_at)
      SELECT x.stream, 1, 'queued', CAST(x.data AS json), x.at FROM s JOIN x ON x.stream = s.name RETURNING 1)
SELECT count(*) AS created FROM e"""
CREATE_BATCH = prepared.Prepared.of(CREATE_BATCH_SQL, "create_batch")

_NEW_JOB_COLUMNS = ("id", "kind", "queue", "args", "user_id", "subject_id", "batch_id", "request_id",
                    "idempotency_key", "tracked_skill_id_hash", "created_at", "enqueued_at")


class Transitions:
    def __init__(self, events: EventLog) -> None:
        self.events = events
        self.db = events.db

    @property
    def one_statement(self) -> bool:
        return not self.db.is_sqlite

    def create(self, session: Session, job: Job, data: dict) -> Event:
        """Write a brand-new job row (built queued, as `webapp.enqueue` builds it) and its `queued`
        event, the stream's first, in the caller's transaction (they commit together). Nobody can be
        listening to a stream whose id has not been handed out yet, so the event is not published:
        readers replay it."""
        if not self.one_statement:
            session.add(job)
            return self.events.stage_first(session, job.stream, "queued", data)
        session.connection().exec_driver_sql(CREATE_SQL, self._create_params(job, data))
        return Event(stream=job.stream, seq=1, type="queued", data=data, ts=iso(job.created_at))

    def create_alone(self, job: Job, data: dict) -> Event:
        """`create` for a request that writes nothing else (PostgreSQL): the row and its event are
        one prepared statement committed by itself, with no transaction around it (BEGIN and COMMIT
        were two of a job submission's four round trips), on a connection whose commit waits for the
        WAL flush: a job answered 202 survives a crash."""
        assert self.one_statement
        prepared.run(self.db, CREATE_ALONE, self._create_params(job, data), durable=True)
        return Event(stream=job.stream, seq=1, type="queued", data=data, ts=iso(job.created_at))

    def create_alone_batch(self, batch: list[tuple[Job, dict]]) -> list[Event]:
        """`create_alone` for several requests' jobs at once (webapp.enqueue's group commit): their
        rows and `queued` events in one prepared statement and one durable commit. All or nothing:
        an error (a constraint a row breaks, the database down) writes none of them."""
        assert self.one_statement
        params: dict[str, Any] = {c: [] for c in (*_BATCH_COLUMNS, "now")}
        for job, data in batch:
            for c, v in self._create_params(job, data).items():
                if c in params:
                    params[c].append(v)
        row = prepared.run(self.db, CREATE_BATCH, params, durable=True)
        if row is None or row.created != len(batch):  # pragma: no cover - every row is new: all or none
            raise RuntimeError(f"group commit wrote {row and row.created} of {len(batch)} jobs")
        return [Event(stream=job.stream, seq=1, type="queued", data=data, ts=iso(job.created_at))
                for job, data in batch]

    @staticmethod
    def _create_params(job: Job, data: dict) -> dict[str, Any]:
        return {"id": job.id, "kind": job.kind, "queue": job.queue, "args": to_json(job.args or {}),
                "user_id": job.user_id, "subject_id": job.subject_id, "batch_id": job.batch_id,
                "request_id": job.request_id, "idempotency_key": job.idempotency_key,
                "tracked_skill_id_hash": job.tracked_skill_id_hash, "now": job.created_at, "stream": job.stream,
                "type": "queued", "data": to_json(data)}

    def create_many(self, session: Session, jobs: list[Job], data: dict) -> None:
        """`create` for a burst of new jobs: three multi-row inserts (rows, stream numbers, `queued`
        events) in the caller's transaction, whatever the number of jobs."""
        if not jobs:
            return
        rows = [{c: getattr(job, c) for c in _NEW_JOB_COLUMNS} for job in jobs]
        session.execute(insert(Job), rows)
        session.execute(insert(EventStream), [{"name": job.stream, "last_seq": 1} for job in jobs])
        session.execute(insert(JobEvent), [{"stream": job.stream, "seq": 1, "type": "queued", "data": data,
                                            "created_at": job.created_at} for job in jobs])

    def claim(self, job_id: str, lease_seconds: int) -> ClaimedJob | None:
        """queued → running (or a dead worker's job taken over), with its `started` event; None when
        the job is not claimable (finished, cancelled, or held under a live lease)."""
        if not self.one_statement:
            return self._claim_in_session(job_id, lease_seconds)
        now = utcnow()
        stream = f"job:{job_id}"
        row = prepared.run(self.db, CLAIM, {"id": job_id, "stream": stream, "type": "started", "now": now,
                                            "lease": now + timedelta(seconds=lease_seconds)})
        if row is None:
            return None
        job = ClaimedJob.of(row)
        self.events.announce(stream, int(row.seq), "started", {"attempt": job.attempts, "kind": job.kind}, now)
        return job

    def _claim_in_session(self, job_id: str, lease_seconds: int) -> ClaimedJob | None:
        claimed: list[ClaimedJob] = []
        data: dict[str, Any] = {}

        def claim(s: Any) -> bool:
            job = jobstore.claim(s, job_id, lease_seconds)
            if job is None:
                return False
            claimed.append(ClaimedJob.of(job))
            data.update(attempt=job.attempts, kind=job.kind)  # filled before the event is written
            return True

        self.events.emit(f"job:{job_id}", "started", data, also=claim)
        return claimed[0] if claimed else None

    def progress(self, job_id: str, data: dict, lease_seconds: int) -> Event:
        """A running job's `progress` event; its lease, stage and progress ride along."""
        stage, pct = data.get("stage"), data.get("pct")
        stream = f"job:{job_id}"
        if not self.one_statement:
            event = self.events.emit(stream, "progress", data, also=lambda s: jobstore.renew(
                s, job_id, lease_seconds, stage=stage, progress=pct))
            assert event is not None
            return event
        now = utcnow()
        row = prepared.run(self.db, PROGRESS, {
            "id": job_id, "stream": stream, "type": "progress", "data": to_json(data), "now": now,
            "lease": now + timedelta(seconds=lease_seconds), "stage": stage,
            "progress": None if pct is None else float(pct)})
        return self.events.announce(stream, int(row.seq), "progress", data, now)

    def finish(self, job_id: str, status: str, data: dict, *, last_progress: dict | None = None,
               **values: Any) -> bool:
        """running/queued → a terminal status with its event; False when the job had already finished.
        `last_progress`: a progress report of the job not stored yet, stored just before the terminal
        event (and, like it, only when the job had not finished)."""
        assert status in TERMINAL
        stream = f"job:{job_id}"
        if not self.one_statement:
            if last_progress is not None:
                self.events.emit(stream, "progress", last_progress, also=lambda s: s.scalar(
                    select(Job.status).where(Job.id == job_id)) not in TERMINAL)
            return self.events.emit(stream, status, data, also=lambda s: jobstore.finish(
                s, job_id, status, **values)) is not None
        columns = tuple(sorted(values))
        now = utcnow()
        params = {c: (to_json(v) if c in _JSON_COLUMNS else v) for c, v in values.items()}
        params.update(id=job_id, status=status, stream=stream, type=status, data=to_json(data), now=now)
        if last_progress is not None:
            params["progress_data"] = to_json(last_progress)
        row = prepared.run(self.db, _finish_statement(columns, last_progress is not None), params)
        if row is None:
            return False
        seq = int(row.seq)
        if last_progress is not None:
            self.events.announce(stream, seq - 1, "progress", last_progress, now)
        self.events.announce(stream, seq, status, data, now)
        return True
