from __future__ import annotations

import logging

from core import jobstore
from workers import dispatch, metrics, runtime
from workers.actors import job_actor

log = logging.getLogger(__name__)


def sweep(lost: bool = False) -> int:
    """Re-send jobs the broker may have lost (queued too long, or running under a dead lease).
    `lost`: the broker did lose its messages (Redis came back empty), so every queued job is re-sent
    at once; a message that survived after all only doubles, and the second claim of a job is a no-op."""
    rt = runtime.get()
    older_than = 0 if lost else rt.settings.sweeper_stale_seconds
    with rt.db.Session() as s:
        stale = [(j.id, j.kind, j.request_id) for j in jobstore.stale(s, older_than)]
    sent = sum(dispatch.send(job_id, kind, request_id=rid) for job_id, kind, rid in stale)
    if sent:
        metrics.SWEEPER_RESENT.inc(sent)
        log.info("sweeper re-sent %d job(s)", sent)
    return sent


@job_actor("maintenance.sweep", queue="maintenance", max_retries=0)
def sweep_actor(lost: bool = False) -> None:
    # Returns nothing: a value from an actor without a results backend makes Dramatiq warn on every run.
    sweep(lost)
