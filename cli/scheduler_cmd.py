"""`voicemock scheduler`: rq-scheduler over the schedule table; sends Dramatiq messages, runs no jobs."""
from __future__ import annotations

import click

from core.config import ConfigError, Settings


@click.command("scheduler")
@click.option("--interval", type=float, default=None,
              help="seconds between checks for due entries (default: VOICEMOCK_SCHEDULER_INTERVAL or 5)")
@click.option("--list", "list_only", is_flag=True, help="print the schedule and the latest sends, then exit")
def scheduler(interval: float | None, list_only: bool) -> None:
    """Send retention, purge and sweeper messages on their crons (production mode; run one or more)."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    from scheduler.schedule import effective

    try:
        schedule = effective(settings.schedule_crons)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if list_only:
        for e in schedule:
            click.echo(f"{e.name:<12} {e.cron:<14} {e.actor:<22} {e.description}")
    if not settings.redis_url:
        if list_only:
            return
        raise click.ClickException("`voicemock scheduler` needs REDIS_URL; embedded mode runs its scheduler "
                                   "inside `voicemock dev`")
    import redis

    from core.logs import configure_logging
    from scheduler.rq_bridge import VoiceMockScheduler, serve
    from workers import runtime

    if list_only:
        sched = VoiceMockScheduler(redis.Redis.from_url(settings.redis_url), settings.redis_prefix)
        for rec in sched.sent_log(20):
            click.echo(f"sent {rec['entry']} → {rec['actor']} tick={rec['tick']} message={rec['message_id']}")
        return
    configure_logging(settings.log_json, settings.log_level)
    runtime.configure(settings)  # the broker the messages go to (no worker, no job code here)
    serve(settings.redis_url, settings.redis_prefix, interval or settings.scheduler_interval, schedule)
