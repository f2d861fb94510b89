"""`/auth/v1` over HTTP (Falcon's TestClient on the gateway's create_app, SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from falcon import testing

from mobo.kernel.config import Config
from tests.auth.conftest import app_client, make_board

V2024 = {"X-Supabase-Api-Version": "2024-01-01"}
PASSWORD = "pass-word-1"


@pytest.fixture
def board(home: Path) -> Config:
    return make_board(home)


@pytest.fixture
def client(board: Config) -> Iterator[testing.TestClient]:
    client, services = app_client(board)
    yield client
    services.provided["auth"].close()


def anon(board: Config, **extra: str) -> dict[str, str]:
    key = board.secrets.anon_key
    return {"apikey": key, "Authorization": f"Bearer {key}", **V2024, **extra}


def as_user(board: Config, session: dict) -> dict[str, str]:
    return anon(board, Authorization=f"Bearer {session['access_token']}")


def as_service(board: Config) -> dict[str, str]:
    key = board.secrets.service_role_key
    return {"apikey": key, "Authorization": f"Bearer {key}", **V2024}


def signup(client: testing.TestClient, board: Config, email: str = "ann@example.com", **body):  # type: ignore[no-untyped-def]
    payload = {"email": email, "password": PASSWORD, **body}
    return client.simulate_post("/auth/v1/signup", json=payload, headers=anon(board))


def sign_in(client: testing.TestClient, board: Config, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.simulate_post(
        "/auth/v1/token",
        params={"grant_type": "password"},
        json={"email": email, "password": password, "gotrue_meta_security": {}},
        headers=anon(board),
    )


USER_KEYS = {
    "id", "aud", "role", "email", "phone", "email_confirmed_at", "confirmed_at",
    "last_sign_in_at", "app_metadata", "user_metadata", "identities", "created_at",
    "updated_at", "is_anonymous",
}  # fmt: skip


def test_signup_with_autoconfirm_returns_a_session(client, board) -> None:  # type: ignore[no-untyped-def]
    resp = signup(client, board, "Ann@Example.com", data={"plan": "free"})
    assert resp.status_code == 200
    body = resp.json
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["expires_at"] - body["expires_in"] == pytest.approx(
        jwt.decode(body["access_token"], options={"verify_signature": False})["iat"], abs=2
    )
    assert body["refresh_token"]
    user = body["user"]
    assert USER_KEYS <= set(user)
    assert user["email"] == "ann@example.com" and user["user_metadata"] == {"plan": "free"}
    assert user["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert user["identities"][0]["provider"] == "email" and user["phone"] == ""
    assert user["created_at"].endswith("Z")
    claims = jwt.decode(
        body["access_token"],
        board.secrets.jwt_secret,
        algorithms=["HS256"],
        audience="authenticated",
    )
    for key in (
        "sub",
        "aud",
        "exp",
        "iat",
        "iss",
        "email",
        "phone",
        "app_metadata",
        "user_metadata",
        "role",
        "aal",
        "amr",
        "session_id",
        "is_anonymous",
    ):
        assert key in claims, key
    assert claims["role"] == "authenticated" and claims["sub"] == user["id"]
    assert claims["aal"] == "aal1" and claims["amr"][0]["method"] == "password"
    assert claims["ref"] == board.board.id and claims["is_anonymous"] is False


def test_errors_in_the_2024_format_echo_the_version(client, board) -> None:  # type: ignore[no-untyped-def]
    signup(client, board)
    resp = signup(client, board)
    assert resp.status_code == 422
    assert resp.json == {"code": "user_already_exists", "message": "User already registered"}
    assert resp.headers["X-Supabase-Api-Version"] == "2024-01-01"


def test_errors_in_the_legacy_format_without_the_header(client, board) -> None:  # type: ignore[no-untyped-def]
    signup(client, board)
    resp = client.simulate_post(
        "/auth/v1/token?grant_type=password", json={"email": "ann@example.com", "password": "x" * 9}
    )
    assert resp.status_code == 400
    assert resp.json == {
        "code": 400,
        "error_code": "invalid_credentials",
        "msg": "Invalid login credentials",
    }
    assert "X-Supabase-Api-Version" not in resp.headers


@pytest.mark.parametrize("version", [None, "2024-01-01"])
def test_weak_password_lists_reasons(client, board, version) -> None:  # type: ignore[no-untyped-def]
    headers = {"X-Supabase-Api-Version": version} if version else {}
    resp = client.simulate_post(
        "/auth/v1/signup", json={"email": "a@b.io", "password": "short"}, headers=headers
    )
    assert resp.status_code == 422
    assert resp.json["weak_password"] == {"reasons": ["length"]}
    assert resp.json["code"] == ("weak_password" if version else 422)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "validation_failed"),
        ({"email": "a@b.io"}, "validation_failed"),
        ({"password": PASSWORD}, "validation_failed"),
        ({"email": "a@b.io", "password": PASSWORD, "data": [1]}, "validation_failed"),
    ],
)
def test_signup_validation(client, board, body, code) -> None:  # type: ignore[no-untyped-def]
    resp = client.simulate_post("/auth/v1/signup", json=body, headers=anon(board))
    assert (resp.status_code, resp.json["code"]) == (400, code)


def test_bad_json_and_unknown_grant(client, board) -> None:  # type: ignore[no-untyped-def]
    resp = client.simulate_post("/auth/v1/signup", body="{nope", headers=anon(board))
    assert (resp.status_code, resp.json["code"]) == (400, "bad_json")
    resp = client.simulate_post("/auth/v1/token?grant_type=magic", json={}, headers=anon(board))
    assert (resp.status_code, resp.json["code"]) == (400, "unsupported_grant_type")


def test_sign_in_wrong_password_and_unknown_email_look_the_same(client, board) -> None:  # type: ignore[no-untyped-def]
    signup(client, board)
    wrong = sign_in(client, board, "ann@example.com", "wrong-password")
    unknown = sign_in(client, board, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json
        == unknown.json
        == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    )
    ok = sign_in(client, board, "ANN@example.com")
    assert ok.status_code == 200 and ok.json["user"]["last_sign_in_at"]


def test_get_and_update_the_user(client, board) -> None:  # type: ignore[no-untyped-def]
    session = signup(client, board, data={"a": 1, "b": 2}).json
    resp = client.simulate_get("/auth/v1/user", headers=as_user(board, session))
    assert resp.status_code == 200 and resp.json["id"] == session["user"]["id"]
    resp = client.simulate_put(
        "/auth/v1/user",
        json={"data": {"b": None, "c": 3}, "password": "new-pass-word"},
        headers=as_user(board, session),
    )
    assert resp.status_code == 200 and resp.json["user_metadata"] == {"a": 1, "c": 3}
    assert sign_in(client, board, "ann@example.com").status_code == 400
    assert sign_in(client, board, "ann@example.com", "new-pass-word").status_code == 200
    same = client.simulate_put(
        "/auth/v1/user", json={"password": "new-pass-word"}, headers=as_user(board, session)
    )
    assert (same.status_code, same.json["code"]) == (422, "same_password")
    moved = client.simulate_put(
        "/auth/v1/user", json={"email": "ann2@example.com"}, headers=as_user(board, session)
    )
    assert moved.status_code == 200 and moved.json["email"] == "ann2@example.com"
    assert sign_in(client, board, "ann2@example.com", "new-pass-word").status_code == 200


def test_user_needs_a_valid_bearer(client, board) -> None:  # type: ignore[no-untyped-def]
    resp = client.simulate_get("/auth/v1/user", headers=V2024)
    assert (resp.status_code, resp.json["code"]) == (401, "no_authorization")
    session = signup(client, board).json
    tampered = session["access_token"][:-3] + (
        "abc" if not session["access_token"].endswith("abc") else "xyz"
    )
    resp = client.simulate_get(
        "/auth/v1/user", headers=anon(board, Authorization=f"Bearer {tampered}")
    )
    assert (resp.status_code, resp.json["code"]) == (403, "bad_jwt")
    resp = client.simulate_get("/auth/v1/user", headers=anon(board))  # the anon key has no user
    assert (resp.status_code, resp.json["code"]) == (403, "bad_jwt")


def test_refresh_and_logout(client, board) -> None:  # type: ignore[no-untyped-def]
    session = signup(client, board).json
    resp = client.simulate_post(
        "/auth/v1/token?grant_type=refresh_token",
        json={"refresh_token": session["refresh_token"]},
        headers=anon(board),
    )
    assert resp.status_code == 200 and resp.json["refresh_token"] != session["refresh_token"]
    fresh = resp.json
    resp = client.simulate_post("/auth/v1/logout?scope=bogus", headers=as_user(board, fresh))
    assert (resp.status_code, resp.json["code"]) == (400, "validation_failed")
    resp = client.simulate_post("/auth/v1/logout", headers=as_user(board, fresh))
    assert resp.status_code == 204 and not resp.content
    resp = client.simulate_get("/auth/v1/user", headers=as_user(board, fresh))
    assert (resp.status_code, resp.json["code"]) == (403, "session_not_found")
    resp = client.simulate_post(
        "/auth/v1/token?grant_type=refresh_token",
        json={"refresh_token": fresh["refresh_token"]},
        headers=anon(board),
    )
    assert (resp.status_code, resp.json["code"]) == (400, "refresh_token_not_found")
    assert resp.json["message"] == "Invalid Refresh Token: Refresh Token Not Found"


def test_public_endpoints(client, board) -> None:  # type: ignore[no-untyped-def]
    settings = client.simulate_get("/auth/v1/settings").json
    assert settings["mailer_autoconfirm"] is True and settings["external"]["email"] is True
    assert settings["disable_signup"] is False
    assert client.simulate_get("/auth/v1/health").json["name"] == "MagAuth"
    assert client.simulate_get("/auth/v1/.well-known/jwks.json").json == {"keys": []}


def test_admin_endpoints_need_the_service_role(client, board) -> None:  # type: ignore[no-untyped-def]
    resp = client.simulate_get("/auth/v1/admin/users", headers=anon(board))
    assert (resp.status_code, resp.json["code"]) == (403, "not_admin")
    resp = client.simulate_get("/auth/v1/admin/users", headers=V2024)
    assert resp.status_code == 401
    user = signup(client, board).json
    resp = client.simulate_get("/auth/v1/admin/users", headers=as_user(board, user))
    assert (resp.status_code, resp.json["code"]) == (403, "not_admin")


def test_admin_user_crud(client, board) -> None:  # type: ignore[no-untyped-def]
    admin = as_service(board)
    resp = client.simulate_post(
        "/auth/v1/admin/users",
        json={
            "email": "bot@example.com",
            "password": PASSWORD,
            "email_confirm": True,
            "user_metadata": {"kind": "bot"},
            "app_metadata": {"tier": 2},
        },
        headers=admin,
    )
    assert resp.status_code == 200
    user = resp.json
    assert user["email_confirmed_at"] and user["user_metadata"] == {"kind": "bot"}
    assert user["app_metadata"]["tier"] == 2
    dup = client.simulate_post(
        "/auth/v1/admin/users", json={"email": "bot@example.com"}, headers=admin
    )
    assert (dup.status_code, dup.json["code"]) == (422, "email_exists")
    signup(client, board, "zed@example.com")
    listing = client.simulate_get("/auth/v1/admin/users", params={"per_page": 1}, headers=admin)
    assert listing.status_code == 200 and listing.headers["X-Total-Count"] == "2"
    assert len(listing.json["users"]) == 1 and listing.json["aud"] == "authenticated"
    assert 'rel="next"' in listing.headers["Link"]
    # auth-js sends page= and per_page= empty when the caller gives none
    blank = client.simulate_get(
        "/auth/v1/admin/users", query_string="page=&per_page=", headers=admin
    )
    assert blank.status_code == 200 and len(blank.json["users"]) == 2
    path = f"/auth/v1/admin/users/{user['id']}"
    assert client.simulate_get(path, headers=admin).json["email"] == "bot@example.com"
    changed = client.simulate_put(
        path, json={"user_metadata": {"x": 1}, "ban_duration": "24h"}, headers=admin
    )
    assert changed.status_code == 200 and changed.json["banned_until"]
    assert changed.json["user_metadata"] == {"kind": "bot", "x": 1}
    banned = sign_in(client, board, "bot@example.com")
    assert (banned.status_code, banned.json["code"]) == (400, "user_banned")
    client.simulate_put(path, json={"ban_duration": "none"}, headers=admin)
    assert sign_in(client, board, "bot@example.com").status_code == 200
    bad = client.simulate_put(path, json={"ban_duration": "forever"}, headers=admin)
    assert (bad.status_code, bad.json["code"]) == (400, "validation_failed")
    resp = client.simulate_delete(path, headers=admin)
    assert resp.status_code == 200 and resp.json == {}
    gone = client.simulate_get(path, headers=admin)
    assert (gone.status_code, gone.json["code"]) == (404, "user_not_found")
    junk = client.simulate_get("/auth/v1/admin/users/not-a-uuid", headers=admin)
    assert junk.status_code == 404
