"""interviews llm: text interview messages (the interviews table of 0001 holds both kinds).

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("interview_id", sa.String(40), sa.ForeignKey("interviews.id", ondelete="CASCADE",
                                                               name="fk_messages_interview_id_interviews"),
                  nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("question_id", sa.String(40), sa.ForeignKey("questions.id", ondelete="SET NULL",
                                                              name="fk_messages_question_id_questions")),
        sa.Column("scores", sa.JSON()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index("ix_messages_interview_created", "messages", ["interview_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_interview_created", table_name="messages")
    op.drop_table("messages")
