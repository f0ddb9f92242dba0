"""Who a request is: the few columns of its account that authentication and authorisation read.

Every authenticated request needs its caller's account. On PostgreSQL a web process keeps what it
read until any account's authorisation changes (core/principal_cache.py): a trigger announces each
change, and a deleted account or a revoked admin role counts from the first request after the
announcement reached the process, a moment after the change commits. Otherwise it reads. Loading the
whole ORM row for that, in the request's transaction, cost a BEGIN and an entity load on every
request, and most handlers want only the id. On PostgreSQL the read is one prepared statement on the
autocommit engine (no transaction around it, planned once per connection); on SQLite (embedded mode)
a Core select in the caller's session (`session` is called only there: the request's session, opened
on first use). Handlers that need the whole row load it on first use (webapp/auth.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import prepared
from core.db import Database
from core.models import User
from core.principal_cache import PrincipalCache

_COLUMNS = "id, subject, email, is_admin, is_guest, plan, deleted_at"
BY_SUBJECT = prepared.Prepared.of(f"SELECT {_COLUMNS} FROM users WHERE subject = %(key)s", "principal_sub")
BY_ID = prepared.Prepared.of(f"SELECT {_COLUMNS} FROM users WHERE id = %(key)s", "principal_id")


@dataclass(frozen=True)
class Principal:
    id: str
    subject: str
    email: str | None
    is_admin: bool
    is_guest: bool
    plan: str
    deleted_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> "Principal":
        """From a row or an ORM User (anything with the columns as attributes)."""
        return cls(id=row.id, subject=row.subject, email=row.email, is_admin=bool(row.is_admin),
                   is_guest=bool(row.is_guest), plan=row.plan or "free", deleted_at=row.deleted_at)


def _lookup(database: Database, session: Callable[[], Session], column: Any, stmt: prepared.Prepared,
            key: str, cache: PrincipalCache | None) -> Principal | None:
    if database.is_sqlite:
        row = session().execute(select(User.id, User.subject, User.email, User.is_admin, User.is_guest,
                                     User.plan, User.deleted_at).where(column == key)).first()
        return None if row is None else Principal.of(row)

    def read() -> Principal | None:
        row = prepared.run(database, stmt, {"key": key})
        return None if row is None else Principal.of(row)

    return read() if cache is None else cache.get(stmt.name, key, read)


def by_subject(database: Database, session: Callable[[], Session], subject: str,
               cache: PrincipalCache | None = None) -> Principal | None:
    """The account of an access token's subject, or None (no account yet, or purged)."""
    return _lookup(database, session, User.subject, BY_SUBJECT, subject, cache)


def by_id(database: Database, session: Callable[[], Session], user_id: str,
          cache: PrincipalCache | None = None) -> Principal | None:
    """The account a session or stream token names, or None."""
    return _lookup(database, session, User.id, BY_ID, user_id, cache)
