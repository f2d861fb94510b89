"""Bad JWTs are refused with 401 on `/rest/v1`: tampered, expired, wrong audience, alg none."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from mobo.kernel.config import load_config
from tests.e2e.boards import RestBoard
from tests.security.conftest import assert_pgrst_error

pytestmark = pytest.mark.integration


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(board: RestBoard, **changes: Any) -> dict[str, Any]:
    """A user's access-token claims as MagAuth issues them, with `changes` applied."""
    now = int(time.time())
    config = load_config(board.home.home, environ={})
    base = {
        "iss": "magflock", "sub": str(uuid.uuid4()), "aud": "authenticated",
        "role": "authenticated", "iat": now, "exp": now + 600, "ref": config.board.id,
        "session_id": str(uuid.uuid4()), "aal": "aal1", "is_anonymous": False,
    }  # fmt: skip
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def sign(board: RestBoard, payload: dict[str, Any], secret: str | None = None) -> str:
    secret = secret or load_config(board.home.home, environ={}).secrets.jwt_secret
    return jwt.encode(payload, secret, algorithm="HS256")


def bad_tokens(board: RestBoard) -> dict[str, str]:
    now = int(time.time())
    good = sign(board, claims(board))
    head, body, sig = good.split(".")
    forged_body = b64(claims(board, role="service_role"))
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    return {
        "tampered payload": f"{head}.{forged_body}.{sig}",
        "tampered signature": f"{head}.{body}.{flipped}",
        "other secret": sign(board, claims(board), secret="not-the-board-secret-" + "x" * 32),
        "expired": sign(board, claims(board, iat=now - 7200, exp=now - 60)),
        "not yet valid": sign(board, claims(board, nbf=now + 3600)),
        "no exp": sign(board, claims(board, exp=None)),
        "wrong audience": sign(board, claims(board, aud="someone-else")),
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(board))}.",
        "alg none service": f"{b64({'alg': 'none', 'typ': 'JWT'})}."
        f"{b64(claims(board, role='service_role', aud=None, sub=None))}.",
        "other project": sign(board, claims(board, ref="another-project")),
        "garbage": "not.a.jwt",
    }


@pytest.fixture(scope="module")
def tokens(pg_single: RestBoard) -> dict[str, str]:
    return bad_tokens(pg_single)


@pytest.mark.parametrize(
    "name",
    ["tampered payload", "tampered signature", "other secret", "expired", "not yet valid",
     "no exp", "wrong audience", "alg none", "alg none service", "other project", "garbage"],
)  # fmt: skip
def test_bad_bearer_is_401(pg_single: RestBoard, tokens: dict[str, str], name: str) -> None:
    """supabase-js sends the anon key as apikey and the user's token as the bearer."""
    status, body, _ = pg_single.call(
        "GET", "/rest/v1/lists", key=pg_single.anon_key, token=tokens[name]
    )
    assert status == 401, (name, status, body)
    assert_pgrst_error(status, body)


@pytest.mark.parametrize("name", ["tampered payload", "expired", "wrong audience", "alg none"])
def test_bad_apikey_alone_is_401(pg_single: RestBoard, tokens: dict[str, str], name: str) -> None:
    status, body, _ = pg_single.call("GET", "/rest/v1/lists", headers={"apikey": tokens[name]})
    assert status == 401, (name, status, body)


def test_a_well_formed_token_is_accepted(pg_single: RestBoard) -> None:
    """The forged tokens above fail for their flaw, not for how the test builds them."""
    token = sign(pg_single, claims(pg_single))
    status, body, _ = pg_single.call("GET", "/rest/v1/lists", key=pg_single.anon_key, token=token)
    assert status == 200, body


def test_no_credentials_is_401(pg_single: RestBoard) -> None:
    status, body, _ = pg_single.call("GET", "/rest/v1/lists")
    assert status == 401
    assert_pgrst_error(status, body)
