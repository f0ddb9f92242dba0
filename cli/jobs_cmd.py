"""`voicemock jobs failed|retry`: list dead letters and re-drive them."""
from __future__ import annotations

import click

from core.config import Settings


@click.group()
def jobs() -> None:
    """Inspect and re-drive jobs."""


@jobs.command("failed")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--kind", default=None, help="only jobs of this kind")
def failed(limit: int, kind: str | None) -> None:
    """List failed jobs (dead letters), newest first."""
    from sqlalchemy import select

    from core.db import Database
    from core.models import Job

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
    from core.errors import VoiceMockError
    from workers import dispatch, runtime

    runtime.configure(Settings.from_env())
    try:
        _job, sent = dispatch.retry(job_id)
    except VoiceMockError as exc:
        raise click.ClickException(exc.message) from exc
    if not sent:
        raise click.ClickException("the broker is unreachable; the sweeper will send the job when it is back")
    click.echo(f"re-queued {job_id}")
