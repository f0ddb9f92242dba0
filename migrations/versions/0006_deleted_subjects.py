"""deleted subjects: tombstones of purged accounts, so their old tokens stay dead (issue 13 item 11).

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deleted_subjects",
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_deleted_subjects")),
    )


def downgrade() -> None:
    op.drop_table("deleted_subjects")
