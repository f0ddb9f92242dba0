"""copilot resumes batches: the tables of issue 4 (copilot sessions and chunks, resumes, generations,
batches and batch items).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Generated with alembic autogenerate against a database at 0002, trimmed to this tables.
    op.create_table('batches',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_batches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches'))
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index('ix_batches_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_batches_user_id'), ['user_id'], unique=False)

    op.create_table('copilot_sessions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=40), nullable=False),
    sa.Column('mode', sa.String(length=30), nullable=False),
    sa.Column('role', sa.String(length=120), nullable=True),
    sa.Column('company', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('suggest_job_id', sa.String(length=40), nullable=True),
    sa.Column('dirty', sa.Boolean(), nullable=False),
    sa.Column('suggestion_count', sa.Integer(), nullable=False),
    sa.Column('last_suggestion', sa.JSON(), nullable=True),
    sa.Column('debrief', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_copilot_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copilot_sessions'))
    )
    with op.batch_alter_table('copilot_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_copilot_sessions_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_copilot_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('resumes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('file_type', sa.String(length=10), nullable=True),
    sa.Column('file_key', sa.String(length=500), nullable=True),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.Column('parse_job_id', sa.String(length=40), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('sections', sa.JSON(), nullable=True),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_resumes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resumes'))
    )
    with op.batch_alter_table('resumes', schema=None) as batch_op:
        batch_op.create_index('ix_resumes_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_resumes_user_id'), ['user_id'], unique=False)

    op.create_table('batch_items',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_batch_items_batch_id_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_items')),
    sa.UniqueConstraint('batch_id', 'key', name='uq_batch_items_batch_key')
    )
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_items_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_items_job_id'), ['job_id'], unique=False)

    op.create_table('copilot_chunks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('speaker', sa.String(length=40), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=True),
    sa.Column('audio_key', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['copilot_sessions.id'], name=op.f('fk_copilot_chunks_session_id_copilot_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copilot_chunks'))
    )
    with op.batch_alter_table('copilot_chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_copilot_chunks_session_id'), ['session_id'], unique=False)

    op.create_table('resume_generations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=40), nullable=False),
    sa.Column('resume_id', sa.String(length=40), nullable=True),
    sa.Column('job_id', sa.String(length=40), nullable=True),
    sa.Column('batch_id', sa.String(length=40), nullable=True),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('job_description', sa.Text(), nullable=False),
    sa.Column('output', sa.JSON(), nullable=False),
    sa.Column('engine', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resume_id'], ['resumes.id'], name=op.f('fk_resume_generations_resume_id_resumes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_resume_generations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resume_generations')),
    sa.UniqueConstraint('job_id', name=op.f('uq_resume_generations_job_id'))
    )
    with op.batch_alter_table('resume_generations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resume_generations_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resume_generations_resume_id'), ['resume_id'], unique=False)
        batch_op.create_index('ix_resume_generations_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_resume_generations_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resume_generations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resume_generations_user_id'))
        batch_op.drop_index('ix_resume_generations_user_created')
        batch_op.drop_index(batch_op.f('ix_resume_generations_resume_id'))
        batch_op.drop_index(batch_op.f('ix_resume_generations_batch_id'))

    op.drop_table('resume_generations')
    with op.batch_alter_table('copilot_chunks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_copilot_chunks_session_id'))

    op.drop_table('copilot_chunks')
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_items_job_id'))
        batch_op.drop_index(batch_op.f('ix_batch_items_batch_id'))

    op.drop_table('batch_items')
    with op.batch_alter_table('resumes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resumes_user_id'))
        batch_op.drop_index('ix_resumes_user_created')

    op.drop_table('resumes')
    with op.batch_alter_table('copilot_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_copilot_sessions_user_id'))
        batch_op.drop_index('ix_copilot_sessions_user_created')

    op.drop_table('copilot_sessions')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_user_id'))
        batch_op.drop_index('ix_batches_user_created')

    op.drop_table('batches')
