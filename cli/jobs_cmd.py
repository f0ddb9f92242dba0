"""`voicemock jobs failed|retry`: list dead letters and re-drive them."""
from __future__ import annotations

import click
from sqlalchemy import select, update

from core.config import Settings
from core.models import Job


@click.group()
def jobs() -> None:
    """Inspect and re-drive jobs."""


@jobs.command("failed")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--kind", default=None, help="only jobs of this kind")
def failed(limit: int, kind: str | None) -> None:
    """List failed jobs (dead letters), newest first."""
    from core.db import Database

    settings = Settings.from_env()
    database = Database(settings.database_url)
    with database.Session() as s:
        stmt = select(Job).where(Job.status == "failed")
        if kind:
            stmt = stmt.where(Job.kind == kind)
        rows = s.execute(stmt.order_by(Job.finished_at.desc()).limit(limit)).scalars().all()
    if not rows:
        click.echo("no failed jobs")
        return
    click.echo(f"{'JOB':<30} {'KIND':<24} {'ATTEMPTS':>8}  {'FINISHED':<20} ERROR")
    for j in rows:
        err = (j.error or {})
        click.echo(f"{j.id:<30} {j.kind:<24} {j.attempts:>8}  {str(j.finished_at)[:19]:<20} "
                   f"[{err.get('stage')}] {err.get('message', '')[:80]}")


@jobs.command("retry")
@click.argument("job_id")
def retry(job_id: str) -> None:
    """Put a failed or cancelled job back on its queue."""
    from workers import dispatch, runtime

    settings = Settings.from_env()
    rt = runtime.configure(settings)
    with rt.db.session_scope() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise click.ClickException(f"no job {job_id}")
        if job.status not in ("failed", "cancelled"):
            raise click.ClickException(f"job {job_id} is {job.status}; only failed or cancelled jobs are retried")
        s.execute(update(Job).where(Job.id == job_id).values(status="queued", stage="retry", error=None,
                                                            finished_at=None, cancel_requested=False))
        kind, request_id = job.kind, job.request_id
    rt.events.emit(f"job:{job_id}", "queued", {"kind": kind, "retry": True})
    if not dispatch.send(job_id, kind, request_id=request_id):
        raise click.ClickException("the broker is unreachable; the sweeper will send the job when it is back")
    click.echo(f"re-queued {job_id}")
