"""trust billing retention: the tables of issue 5 (idempotency keys, billing, usage ledger, retention receipts, schedule locks).

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables are added here by the feature that owns them; the chain stays linear.
    pass


def downgrade() -> None:
    pass
