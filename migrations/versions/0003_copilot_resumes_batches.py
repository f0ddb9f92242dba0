"""copilot resumes batches: the tables of issue 4 (copilot sessions, resumes, batches).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables are added here by the feature that owns them; the chain stays linear.
    pass


def downgrade() -> None:
    pass
