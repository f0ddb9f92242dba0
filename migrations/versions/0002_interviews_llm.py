"""interviews llm: the tables of issue 3 (interviews, messages, reports, LLM usage).

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables are added here by the feature that owns them; the chain stays linear.
    pass


def downgrade() -> None:
    pass
