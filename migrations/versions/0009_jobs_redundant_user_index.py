"""jobs: drop `ix_jobs_user_id`. `ix_jobs_user_created` (user_id, created_at) starts with the same
column and serves the same lookups and the foreign key's cascade; the second index only cost every
write of a job's row (created, claimed, finished: each adds an entry to every index of the table).

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_jobs_user_id", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_user_id", "jobs", ["user_id"])
