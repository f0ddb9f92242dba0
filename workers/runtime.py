"""The per-process runtime of workers (and of the web, which enqueues): settings, database, event
log, storage and broker, configured once at start-up.

Imports point one way: this module builds the broker (workers.broker → workers.middleware) and
hands the finished runtime to its JobLifecycle middleware; neither of those imports this module.
"""
from __future__ import annotations

from dataclasses import dataclass

import dramatiq

from core.config import Settings
from core.db import Database
from core.events import Bus, EventLog, make_bus
from core.storage import LocalStorage
from core.transitions import Transitions
from workers import actors
from workers.broker import make_broker
from workers.middleware import JobLifecycle


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    events: EventLog
    transitions: Transitions
    storage: LocalStorage
    broker: dramatiq.Broker


_runtime: Runtime | None = None


def configure(settings: Settings, *, broker: dramatiq.Broker | None = None, db: Database | None = None,
              bus: Bus | None = None) -> Runtime:
    """Build the runtime and make its broker the global one (actors bind to it at declaration)."""
    global _runtime
    db = db or Database(settings.database_url, connect_timeout=settings.db_connect_timeout,
                        statement_timeout=settings.db_statement_timeout)
    bus = bus or make_bus(settings)
    broker = broker or make_broker(settings)
    dramatiq.set_broker(broker)
    events = EventLog(db, bus)
    _runtime = Runtime(settings=settings, db=db, bus=bus, events=events, transitions=Transitions(events),
                       storage=LocalStorage(settings.storage_dir), broker=broker)
    for middleware in broker.middleware:
        if isinstance(middleware, JobLifecycle):
            middleware.attach(_runtime)
    actors.bind(broker)
    return _runtime


def get() -> Runtime:
    if _runtime is None:
        raise RuntimeError("workers.runtime.configure(settings) was not called")
    return _runtime


def is_configured() -> bool:
    return _runtime is not None
