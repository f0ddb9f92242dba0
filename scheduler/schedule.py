"""The schedule: one table of (name, cron, actor). Every scheduler reads it; none runs job code.

`voicemock scheduler` (production: rq-scheduler on Redis, see scheduler/rq_bridge.py) and the
in-process loop of embedded mode (scheduler/loop.py) both drive this table. Crons are UTC.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from core.config import ConfigError


@dataclass(frozen=True)
class Entry:
    name: str
    cron: str  # five-field cron, UTC
    actor: str  # the Dramatiq actor the scheduler sends a message to
    description: str


SCHEDULE: tuple[Entry, ...] = (
    Entry("sweeper", "* * * * *", "maintenance.sweep", "re-send jobs stuck in queued or under a dead lease"),
    Entry("retention", "17 3 * * *", "retention.run",
          "delete audio, transcripts, events, finished jobs, copilot sessions and idempotency keys past their age"),
    Entry("purge", "47 * * * *", "retention.purge", "hard-delete accounts and interviews marked deleted"),
)


def effective(overrides: tuple[str, ...], schedule: tuple[Entry, ...] = SCHEDULE) -> tuple[Entry, ...]:
    """The table with operator cron overrides applied (VOICEMOCK_SCHEDULE_CRONS, "NAME=CRON;…").

    Crons are rq-scheduler's (the `crontab` package): five fields, or seven with seconds first and a
    year last ("*/10 * * * * * *" is every ten seconds). A bad override stops start-up with a clear
    message rather than silently keeping the old cron.
    """
    from crontab import CronTab

    by_name = {e.name: e for e in schedule}
    for item in overrides:
        name, sep, cron = item.partition("=")
        name, cron = name.strip(), cron.strip()
        if not sep or name not in by_name:
            raise ConfigError(f"VOICEMOCK_SCHEDULE_CRONS: {item!r} must be NAME=CRON with NAME one of "
                              f"{', '.join(by_name)}")
        try:
            CronTab(cron)
        except ValueError as exc:
            raise ConfigError(f"VOICEMOCK_SCHEDULE_CRONS: {cron!r} is not a valid cron for {name}: {exc}") from exc
        by_name[name] = replace(by_name[name], cron=cron)
    return tuple(by_name.values())
