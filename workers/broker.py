"""The Dramatiq broker: Redis (default in production), RabbitMQ (BROKER_URL=amqp://…) or the
StubBroker of embedded mode, with VoiceMock's middleware in the right places."""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

from core.config import Settings
from workers.middleware import JobLifecycle, LogContext, should_retry

QUEUES = ("stt", "llm", "default", "maintenance")


def _middleware(settings: Settings) -> list[dramatiq.Middleware]:
    # emit_after runs in reverse order: JobLifecycle sits before Retries so that, by the time it
    # sees a failure, Retries has already decided whether the message is retried or dead.
    return [
        LogContext(),
        AgeLimit(),
        TimeLimit(time_limit=30 * 60 * 1000),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        JobLifecycle(),
        Retries(retry_when=should_retry(settings.job_max_retries), min_backoff=settings.job_min_backoff_ms,
                max_backoff=settings.job_max_backoff_ms),
    ]


def make_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url
    middleware = _middleware(settings)
    if url and url.startswith("amqp"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker: dramatiq.Broker = RabbitmqBroker(url=url, middleware=middleware)
    elif url:
        import redis

        from workers.doorbell import DoorbellRedisBroker

        # Socket timeouts, so a hung Redis (paused, partitioned) fails a send within seconds instead
        # of holding a web request forever; the job row stays queued for the sweeper. Query
        # parameters of the URL (`?socket_timeout=1`) override these defaults.
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        broker = DoorbellRedisBroker(client=client, middleware=middleware, namespace=f"{settings.redis_prefix}-dramatiq",
                             heartbeat_timeout=settings.heartbeat_timeout_ms,
                             maintenance_chance=settings.broker_maintenance_chance)
    else:
        broker = StubBroker(middleware=middleware)
    for q in QUEUES:
        broker.declare_queue(q)
    return broker
