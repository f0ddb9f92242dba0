"""Accounts (issue 13 items 11 and 12): a purged account's tokens stay dead, and admin status is the
database role or VOICEMOCK_ADMIN_EMAILS, decided on every request."""
from __future__ import annotations

import time
import uuid

import jwt
import requests
from click.testing import CliRunner
from sqlalchemy import func, select, update

from tests.functional.servers import web_process
from tests.support.client import ApiClient, data
from tests.support.eventually import soon  # a change made outside a request reaches the web's principal cache


def _users_with_subject(platform, subject: str) -> int:  # noqa: ANN001
    from core.models import User

    with platform.runtime.db.Session() as s:
        return s.execute(select(func.count()).select_from(User).where(User.subject == subject)).scalar_one()


def test_a_purged_accounts_old_token_stays_dead_and_only_a_new_sign_in_makes_a_new_account(
        platform, make_client) -> None:  # noqa: ANN001
    from core.clock import utcnow
    from core.models import User
    from jobs.retention import apply_purge

    email = f"gone-{uuid.uuid4().hex[:8]}@example.com"
    old = make_client(email, admin=True)
    me = data(old.get("/auth/me"))
    assert me["is_admin"] is True
    with platform.runtime.db.session_scope() as s:
        s.execute(update(User).where(User.id == me["id"]).values(deleted_at=utcnow()))
    assert soon(lambda: old.get("/auth/me").status_code, lambda status: status == 401) == 401
    with platform.runtime.db.session_scope() as s:
        assert apply_purge(s, platform.runtime.storage)["accounts"] >= 1
    assert _users_with_subject(platform, email) == 0
    for _ in range(2):
        r = old.get("/auth/me")
        assert r.status_code == 401 and r.json()["stage"] == "auth", r.text
    assert _users_with_subject(platform, email) == 0, "the old token did not bring the account back"
    # A sign-in after the deletion (a token issued later) is a new, empty account and no admin.
    now = int(time.time())
    s = platform.settings
    fresh = jwt.encode({"iss": s.jwt_issuer, "aud": s.jwt_audience, "iat": now + 2, "nbf": now, "exp": now + 600,
                        "sub": email, "email": email, "typ": "access"}, s.secret_key, algorithm="HS256")
    again = data(ApiClient(platform.base_url, fresh).get("/auth/me"))
    assert again["id"] != me["id"] and again["is_admin"] is False


def test_admin_status_follows_the_email_list_and_the_database_role_on_every_request(
        platform, test_env) -> None:  # noqa: ANN001
    from cli.main import main
    from core.tokens import mint_access_token

    listed = f"listed-{uuid.uuid4().hex[:8]}@example.com"
    token = mint_access_token(platform.settings, listed, email=listed)
    h = {"Authorization": f"Bearer {token}"}
    with web_process(platform, admin_emails=(listed,)) as url:
        assert requests.get(url + "/auth/me", headers=h, timeout=10).json()["data"]["is_admin"] is True
        assert requests.get(url + "/api/retention/receipts", headers=h, timeout=10).status_code == 200
    with web_process(platform, admin_emails=()) as url:  # the email left the list: demoted at once
        assert requests.get(url + "/auth/me", headers=h, timeout=10).json()["data"]["is_admin"] is False
        assert requests.get(url + "/api/retention/receipts", headers=h, timeout=10).status_code == 403

    # `token create --admin` for an account that already exists promotes it; `admin revoke` demotes it.
    existing = f"promoted-{uuid.uuid4().hex[:8]}@example.com"
    c = ApiClient(platform.base_url, mint_access_token(platform.settings, existing, email=existing))
    assert data(c.get("/auth/me"))["is_admin"] is False
    runner = CliRunner()
    out = runner.invoke(main, ["token", "create", "--user", existing, "--admin"], env=test_env)
    assert out.exit_code == 0, out.output
    assert soon(lambda: data(c.get("/auth/me"))["is_admin"], bool) is True, "the same old token, now an admin"
    assert data(ApiClient(platform.base_url, out.stdout.strip()).get("/auth/me"))["is_admin"] is True
    out = runner.invoke(main, ["admin", "revoke", existing], env=test_env)
    assert out.exit_code == 0 and "revoked" in out.output, out.output
    assert soon(lambda: data(c.get("/auth/me"))["is_admin"], lambda admin: not admin) is False
    assert c.get("/api/retention/receipts").status_code == 403
