"""`voicemock admin grant|revoke|list`: the database role of operators (issue 13 item 12).

Admin status is decided on every request from two places only: this role (the `users.is_admin`
column) and `VOICEMOCK_ADMIN_EMAILS`. A token never carries it past the account's creation, so a
grant or a revoke here, or an email added to or removed from the list, counts from the next request.
"""
from __future__ import annotations

import click

from core.config import Settings


def set_role(settings: Settings, email: str, admin: bool) -> str:
    """Grant or revoke the role of the account whose self-issued token subject is `email` (created
    if absent when granting). Returns what happened, for the operator."""
    from sqlalchemy import select

    from core.db import Database
    from core.models import User

    database = Database(settings.database_url)
    try:
        with database.session_scope() as s:
            user = s.execute(select(User).where(User.subject == email)).scalar_one_or_none()
            if user is None:
                if not admin:
                    return f"{email}: no such account (nothing to revoke)"
                s.add(User(subject=email, email=email, is_admin=True))
                return f"{email}: account created with the admin role"
            if user.deleted_at is not None:
                raise click.ClickException(f"{email}: the account is deleted")
            user.is_admin = admin
        listed = email.lower() in {e.lower() for e in settings.admin_emails}
        note = " (still an admin through VOICEMOCK_ADMIN_EMAILS)" if listed and not admin else ""
        return f"{email}: admin role {'granted' if admin else 'revoked'}{note}"
    finally:
        database.dispose()


@click.group()
def admin() -> None:
    """Operators: grant or revoke the admin role (VOICEMOCK_ADMIN_EMAILS counts as well)."""


@admin.command("grant")
@click.argument("email")
def grant(email: str) -> None:
    """Give EMAIL's account the admin role (creating the account if needed)."""
    click.echo(set_role(Settings.from_env(), email, True))


@admin.command("revoke")
@click.argument("email")
def revoke(email: str) -> None:
    """Take the admin role from EMAIL's account (its tokens lose it at their next request)."""
    click.echo(set_role(Settings.from_env(), email, False))
