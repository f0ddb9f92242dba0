"""users: a trigger announces every change to an account's authorisation (NOTIFY voicemock_principals),
so web processes may keep what they read of it until it changes (core/principal_cache.py).

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The columns authentication and authorisation read (core/principals.py); llm_settings is not one.
_WATCHED = "subject, email, is_admin, is_guest, plan, deleted_at"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (embedded mode): one process, no cache to tell
    op.execute("""
        CREATE OR REPLACE FUNCTION voicemock_principal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_LEVEL = 'ROW' THEN
            PERFORM pg_notify('voicemock_principals', OLD.id);
          ELSE
            PERFORM pg_notify('voicemock_principals', '');
          END IF;
          RETURN NULL;
        END $$""")
    op.execute(f"""
        CREATE TRIGGER users_principal_changed AFTER UPDATE OF {_WATCHED} OR DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION voicemock_principal_changed()""")
    op.execute("""
        CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
        FOR EACH STATEMENT EXECUTE FUNCTION voicemock_principal_changed()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS users_truncated ON users")
    op.execute("DROP TRIGGER IF EXISTS users_principal_changed ON users")
    op.execute("DROP FUNCTION IF EXISTS voicemock_principal_changed()")
