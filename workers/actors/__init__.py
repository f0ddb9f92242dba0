"""Actor registry. `job_actor` records a function; `bind(broker)` declares them all on a broker.

Declaring at bind time (not import time) lets one process rebuild its broker (tests, embedded
mode) without stale actors bound to an old one.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import dramatiq

_MODULES = ("workers.actors.practice", "workers.actors.maintenance", "workers.actors.ops",
            "workers.actors.copilot", "workers.actors.resumes", "workers.actors.interviews",
            "workers.actors.billing", "workers.actors.retention", "workers.actors.live_turns")


@dataclass
class _Spec:
    fn: Callable[..., Any]
    name: str
    queue: str
    options: dict[str, Any]


_SPECS: dict[str, _Spec] = {}
ACTORS: dict[str, dramatiq.Actor] = {}


def job_actor(name: str, *, queue: str = "default", **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an actor under `name`, which is also the `kind` of the jobs it runs."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _SPECS[name] = _Spec(fn=fn, name=name, queue=queue, options=options)
        return fn

    return register


def bind(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    for module in _MODULES:
        importlib.import_module(module)
    ACTORS.clear()
    for spec in _SPECS.values():
        ACTORS[spec.name] = dramatiq.Actor(spec.fn, actor_name=spec.name, queue_name=spec.queue, priority=0,
                                           broker=broker, options=dict(spec.options))
    return ACTORS


def queue_of(kind: str) -> str:
    return _SPECS[kind].queue
