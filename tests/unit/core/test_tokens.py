"""core/tokens.py mints HS256 JWTs with a key prepared once: the very bytes PyJWT's `jwt.encode`
writes for the same claims, and each kind verifies as itself only."""
from __future__ import annotations

import jwt
import pytest

from core import tokens
from core.config import Settings
from core.errors import Unauthorized


@pytest.fixture()
def settings(tmp_path) -> Settings:  # noqa: ANN001
    return Settings.from_env({"VOICEMOCK_SECRET_KEY": "s" * 40, "VOICEMOCK_DATA_DIR": str(tmp_path)})


def _claims(token: str, settings: Settings) -> dict:
    return jwt.decode(token, settings.secret_key, algorithms=["HS256"], audience=settings.jwt_audience,
                      issuer=settings.jwt_issuer)


@pytest.mark.parametrize("mint", [
    lambda s: tokens.mint_access_token(s, "ada@example.com", email="ada@example.com", admin=True),
    lambda s: tokens.mint_session_token(s, "usr_1", "ses_1"),
    lambda s: tokens.mint_stream_token(s, "usr_1", "job:job_1"),
])
def test_a_minted_token_is_the_token_pyjwt_writes_for_its_claims(settings: Settings, mint) -> None:  # noqa: ANN001
    token = mint(settings)
    claims = _claims(token, settings)
    assert token == jwt.encode(claims, settings.secret_key, algorithm="HS256")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims["exp"] > claims["iat"] and len(claims["jti"]) == 32


def test_each_kind_verifies_as_itself_and_a_forged_signature_fails(settings: Settings) -> None:
    stream = tokens.mint_stream_token(settings, "usr_1", "job:job_1")
    assert tokens.verify_stream_token(settings, stream, "job:job_1")["sub"] == "usr_1"
    with pytest.raises(Unauthorized):
        tokens.verify_access_token(settings, stream)  # a stream token is never an access token
    other = Settings.from_env({"VOICEMOCK_SECRET_KEY": "t" * 40, "VOICEMOCK_DATA_DIR": settings.data_dir})
    with pytest.raises(Unauthorized):
        tokens.verify_stream_token(other, stream, "job:job_1")  # signed with another key
