"""Refresh-token rotation, reuse detection and logout scopes (MagAuth on SQLite)."""

from __future__ import annotations

import pytest

from components.auth.errors import AuthError
from components.auth.runtime import MagAuth
from components.auth.service import RequestInfo
from tests.auth.conftest import FakeClock

INFO = RequestInfo(base_url="http://test")


def sign_up(auth: MagAuth, email: str = "ann@example.com") -> dict:
    return auth.service.signup({"email": email, "password": "pass-word-1"}, INFO)


def refresh(auth: MagAuth, token: str) -> dict:
    return auth.service.refresh_grant({"refresh_token": token})


def error_code(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthError) as exc:
        call()
    return exc.value.error_code


def test_refresh_rotates_the_token(magauth: MagAuth) -> None:
    first = sign_up(magauth)
    second = refresh(magauth, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert magauth.tokens.verify(second["access_token"]).session_id == (
        magauth.tokens.verify(first["access_token"]).session_id
    )
    third = refresh(magauth, second["refresh_token"])
    assert third["user"]["email"] == "ann@example.com"


def test_only_the_hash_of_a_refresh_token_is_stored(magauth: MagAuth) -> None:
    token = sign_up(magauth)["refresh_token"]
    rows = magauth.store.find_all("refresh_tokens")
    assert rows and all(token not in str(row.values()) for row in rows)


def test_reuse_within_the_interval_returns_the_current_child(
    magauth: MagAuth, clock: FakeClock
) -> None:
    parent = sign_up(magauth)["refresh_token"]
    child = refresh(magauth, parent)["refresh_token"]
    clock.advance(5)  # a second tab refreshes with the same parent, inside 10 s
    again = refresh(magauth, parent)
    assert again["refresh_token"] == child
    assert refresh(magauth, child)["refresh_token"] not in (parent, child)


def test_reuse_after_the_interval_revokes_the_whole_family(
    magauth: MagAuth, clock: FakeClock
) -> None:
    session = sign_up(magauth)
    parent = session["refresh_token"]
    child = refresh(magauth, parent)["refresh_token"]
    clock.advance(11)
    with pytest.raises(AuthError) as exc:
        refresh(magauth, parent)
    assert exc.value.status == 400 and exc.value.error_code == "refresh_token_already_used"
    assert exc.value.message == "Invalid Refresh Token: Already Used"
    # the family is gone: the legitimate child no longer works either
    assert error_code(lambda: refresh(magauth, child)) == "refresh_token_not_found"
    claims = magauth.tokens.verify(session["access_token"])
    assert error_code(lambda: magauth.service.user_for(claims)) == "session_not_found"


def test_unknown_and_missing_refresh_tokens(magauth: MagAuth) -> None:
    assert error_code(lambda: refresh(magauth, "nope")) == "refresh_token_not_found"
    assert error_code(lambda: magauth.service.refresh_grant({})) == "validation_failed"


def test_session_not_after_expires_it(magauth: MagAuth) -> None:
    token = sign_up(magauth)["refresh_token"]
    (session,) = magauth.store.find_all("sessions")
    magauth.store.update("sessions", {"not_after": magauth.service.now()}, id=session["id"])
    assert error_code(lambda: refresh(magauth, token)) == "session_expired"


def sessions_of(auth: MagAuth) -> set[str]:
    return {row["id"] for row in auth.store.find_all("sessions")}


@pytest.mark.parametrize(
    ("scope", "left"), [("local", {"b", "c"}), ("others", {"a"}), ("global", set())]
)
def test_logout_scopes(magauth: MagAuth, scope: str, left: set[str]) -> None:
    sign_up(magauth)
    login = {"email": "ann@example.com", "password": "pass-word-1"}
    a, b, c = (magauth.service.password_grant(login, INFO) for _ in range(3))
    other_user = sign_up(magauth, "bob@example.com")
    names = {
        magauth.tokens.verify(s["access_token"]).session_id: n
        for n, s in zip("abc", (a, b, c), strict=True)
    }
    magauth.service.logout(magauth.tokens.verify(a["access_token"]), scope)
    remaining = {names.get(sid, "?") for sid in sessions_of(magauth)}
    assert remaining - {"?"} == left
    # other users' sessions are never touched
    assert magauth.tokens.verify(other_user["access_token"]).session_id in sessions_of(magauth)


def test_logout_refuses_an_unknown_scope(magauth: MagAuth) -> None:
    claims = magauth.tokens.verify(sign_up(magauth)["access_token"])
    assert error_code(lambda: magauth.service.logout(claims, "everything")) == "validation_failed"
