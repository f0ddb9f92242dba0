"""The principal cache (core/principal_cache.py) on a real PostgreSQL: what it keeps, and that any change
to an account's authorisation, a lost listener or its time limit make the next lookup read afresh."""
from __future__ import annotations

import time
import uuid
from typing import Callable, Iterator

import pytest
from sqlalchemy import text

from core import principals
from core.db import Database
from core.principal_cache import PrincipalCache
from tests.support.eventually import soon  # the server passes an announcement on after COMMIT returns


@pytest.fixture()
def database(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    yield db
    db.dispose()


@pytest.fixture()
def account(database: Database) -> tuple[str, str, "Counting"]:
    """A new account: its id, its token subject, and a loader that reads it and counts its reads."""
    uid, subject = f"usr_{uuid.uuid4().hex[:12]}", f"{uuid.uuid4().hex[:8]}@example.com"
    with database.engine.begin() as c:
        c.execute(text("INSERT INTO users (id, subject, email, is_admin, is_guest, plan, created_at) "
                       "VALUES (:id, :s, :s, false, false, 'free', now())"), {"id": uid, "s": subject})
    return uid, subject, Counting(database, subject)


def _sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as c:
        c.execute(text(statement), params)


Listening = Callable[..., PrincipalCache]


@pytest.fixture()
def listening(database: Database) -> Iterator[Listening]:
    """`listening(ttl)`: a cache that listens already (its first lookup starts listening and reads,
    as every lookup does until it listens); all closed after the test."""
    made: list[PrincipalCache] = []

    def make(ttl: float = 60) -> PrincipalCache:
        cache = PrincipalCache(database, ttl=ttl)
        made.append(cache)
        cache.get("other", "warm-up", lambda: None)
        assert cache._conn is not None  # noqa: SLF001
        return cache

    yield make
    for cache in made:
        cache.close()


class Counting:
    """A loader that reads the account and counts how often it was asked to."""

    def __init__(self, db: Database, subject: str) -> None:
        self.db, self.subject, self.reads = db, subject, 0

    def __call__(self) -> principals.Principal | None:
        self.reads += 1
        return principals.by_subject(self.db, lambda: None, self.subject)  # type: ignore[arg-type,return-value]


def test_an_account_is_read_once_and_again_right_after_any_change_to_its_authorisation(
        database: Database, listening: Listening, account: tuple) -> None:
    uid, subject, load = account
    cache = listening(60)
    for _ in range(5):
        assert cache.get("sub", subject, load).is_admin is False
    assert load.reads == 1
    _sql(database, "UPDATE users SET llm_settings = '{}' WHERE id = :id", id=uid)  # not about authorisation
    assert cache.get("sub", subject, load).is_admin is False and load.reads == 1
    for change, check in (("UPDATE users SET is_admin = true WHERE id = :id", lambda p: p.is_admin),
                          ("UPDATE users SET plan = 'pro' WHERE id = :id", lambda p: p.plan == "pro"),
                          ("UPDATE users SET deleted_at = now() WHERE id = :id", lambda p: p.deleted_at)):
        reads = load.reads
        _sql(database, change, id=uid)
        assert check(soon(lambda: cache.get("sub", subject, load), check)), change
        assert load.reads == reads + 1  # read once, as soon as the change was heard
    _sql(database, "DELETE FROM users WHERE id = :id", id=uid)
    assert soon(lambda: cache.get("sub", subject, load), lambda p: p is None) is None
    assert cache.get("sub", subject, load) is None and load.reads == 6  # a missing account is never kept


def test_a_value_is_served_for_its_time_limit_at_most(
        database: Database, listening: Listening, account: tuple) -> None:
    _, subject, load = account
    cache = listening(0.2)
    cache.get("sub", subject, load)
    cache.get("sub", subject, load)
    assert load.reads == 1
    time.sleep(0.3)
    cache.get("sub", subject, load)
    assert load.reads == 2


def test_a_lost_listener_means_reading_until_it_listens_again(
        database: Database, listening: Listening, account: tuple) -> None:
    uid, subject, load = account
    cache = listening(60)
    cache.get("sub", subject, load)
    listener_pid = cache._conn.get_backend_pid()  # noqa: SLF001
    _sql(database, "SELECT pg_terminate_backend(:pid)", pid=listener_pid)
    time.sleep(0.2)
    # The listener died (a change may have gone unheard): nothing kept is served.
    _sql(database, "UPDATE users SET is_admin = true WHERE id = :id", id=uid)
    assert cache.get("sub", subject, load).is_admin is True and load.reads == 2
    # The next lookup listens again, on a new connection; from then on values are kept again.
    cache.get("sub", subject, load)
    cache.get("sub", subject, load)
    assert cache._conn is not None and cache._conn.get_backend_pid() != listener_pid  # noqa: SLF001
    assert load.reads <= 4
    _sql(database, "UPDATE users SET is_admin = false WHERE id = :id", id=uid)
    assert soon(lambda: cache.get("sub", subject, load), lambda p: not p.is_admin).is_admin is False


def test_a_value_read_while_a_change_was_announced_is_not_kept(
        database: Database, listening: Listening, account: tuple) -> None:
    uid, subject, load = account
    cache = listening(60)

    def read_then_change() -> principals.Principal | None:
        value = load()
        _sql(database, "UPDATE users SET plan = 'pro' WHERE id = :id", id=uid)  # committed after the read
        heard = cache._generation  # noqa: SLF001
        soon(lambda: cache.get("other", "drain", lambda: None) or cache._generation,  # noqa: SLF001
              lambda generation: generation != heard)  # the announcement is heard while this read is in flight
        return value

    assert cache.get("sub", subject, read_then_change).plan == "free"
    assert cache.get("sub", subject, load).plan == "pro"  # the stale read was not kept
    assert load.reads == 2


def test_no_database_to_listen_on_means_no_cache_and_no_error() -> None:
    from tests.support.procs import free_port

    db = Database(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/none", connect_timeout=2)
    cache = PrincipalCache(db, ttl=60)
    reads = []
    try:
        for _ in range(3):
            assert cache.get("sub", "x", lambda: reads.append(1) or "value") == "value"
        assert len(reads) == 3
    finally:
        db.dispose()
