"""practice tailoring: a voice session's job description and resume.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interviews", sa.Column("job_description", sa.Text(), nullable=True))
    op.add_column("interviews", sa.Column("resume_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("resume_id")
        batch.drop_column("job_description")
