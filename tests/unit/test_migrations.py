"""Alembic migrations build exactly the schema the models describe, on PostgreSQL and on SQLite."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import core.models  # noqa: F401
import migrations
from core.db import Base


def _diff(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return diff


def test_postgres_schema_after_upgrade_matches_the_models(pg_url: str) -> None:
    assert _diff(pg_url) == []


def test_sqlite_schema_after_upgrade_matches_the_models_and_downgrade_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrations.upgrade(url)
    assert _diff(url) == []
    migrations.downgrade(url, "base")
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = {r[0] for r in conn.exec_driver_sql("select name from sqlite_master where type='table'")}
    engine.dispose()
    assert tables <= {"alembic_version"}
