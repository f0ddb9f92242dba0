"""interviews: a finished session's status is "completed", the word document 004 prints (was "ended").

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE interviews SET status = 'completed' WHERE status = 'ended'")


def downgrade() -> None:
    op.execute("UPDATE interviews SET status = 'ended' WHERE status = 'completed'")
