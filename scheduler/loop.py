"""The in-process scheduler of embedded mode: the same table, driven by a thread.

Crons are read as `voicemock scheduler` reads them (the `crontab` package: five fields, or seven
with seconds first and a year last), so VOICEMOCK_SCHEDULE_CRONS means the same in both modes.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Callable

from crontab import CronTab

from scheduler.schedule import SCHEDULE, Entry

log = logging.getLogger("voicemock.scheduler")


def due_entries(last: datetime, now: datetime, schedule: tuple[Entry, ...] = SCHEDULE) -> list[Entry]:
    """Entries with a cron tick in (last, now]."""
    return [entry for entry in schedule
            if CronTab(entry.cron).next(now=last, delta=False, default_utc=True) <= now.timestamp()]


def run_loop(send: Callable[[Entry], None], stop: threading.Event, *, tick: float = 1.0,
             schedule: tuple[Entry, ...] = SCHEDULE) -> None:
    last = datetime.now(timezone.utc)
    while not stop.wait(tick):
        now = datetime.now(timezone.utc)
        for entry in due_entries(last, now, schedule):
            try:
                send(entry)
            except Exception:  # noqa: BLE001 - one failed send must not stop the schedule
                log.exception("could not send scheduled %s", entry.name)
        last = now


def start_thread(send: Callable[[Entry], None], schedule: tuple[Entry, ...] = SCHEDULE,
                 tick: float = 1.0) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run_loop, args=(send, stop), kwargs={"tick": tick, "schedule": schedule},
                     name="voicemock-scheduler", daemon=True).start()
    return stop
