"""Native API keys, and `authenticate(headers)` for the gateway."""

from __future__ import annotations

import datetime as dt

import pytest

from components.auth.apikeys import ApiKeyError, parse_expires
from components.auth.principal import KeyRefused, NoCredentials
from components.auth.runtime import MagAuth
from components.auth.service import RequestInfo
from components.auth.tokens import TokenError
from mobo.kernel.config import Config
from tests.auth.conftest import FakeClock


def test_a_key_is_shown_once_and_stored_hashed(magauth: MagAuth) -> None:
    key, record = magauth.api_keys.create("sensor-12", "authenticated")
    assert key.startswith(f"mfk_{record.id}_")
    (row,) = magauth.store.find_all("api_keys")
    assert key.split("_", 2)[2] not in str(row.values())
    assert magauth.api_keys.verify(key).name == "sensor-12"
    listed = magauth.api_keys.list()[0].as_dict()
    assert listed["key"] == f"mfk_{record.id}_…" and listed["revoked"] is None


def test_a_wrong_secret_or_malformed_key_is_refused(magauth: MagAuth) -> None:
    key, _ = magauth.api_keys.create("agent", "service_role")
    for bad in (
        key[:-1] + ("A" if key[-1] != "A" else "B"),
        "mfk_000000000000_" + "x" * 43,
        "mfk_",
    ):
        with pytest.raises(ApiKeyError):
            magauth.api_keys.verify(bad)


def test_revoked_keys_are_refused(magauth: MagAuth) -> None:
    key, _ = magauth.api_keys.create("device", "authenticated")
    assert magauth.api_keys.revoke("device") == 1
    with pytest.raises(ApiKeyError):
        magauth.api_keys.verify(key)
    with pytest.raises(ApiKeyError):
        magauth.api_keys.revoke("device")
    # the name is free again once revoked
    assert magauth.api_keys.create("device", "authenticated")[0] != key


def test_names_are_unique_among_active_keys(magauth: MagAuth) -> None:
    magauth.api_keys.create("twin", "anon")
    with pytest.raises(ApiKeyError):
        magauth.api_keys.create("twin", "anon")
    with pytest.raises(ApiKeyError):
        magauth.api_keys.create("x", "Not A Role")


def test_keys_expire(magauth: MagAuth, clock: FakeClock) -> None:
    expires = parse_expires("30d", magauth.api_keys.now())
    key, record = magauth.api_keys.create("temp", "anon", expires)
    assert record.expires == magauth.api_keys.now() + dt.timedelta(days=30)
    magauth.api_keys.verify(key)
    clock.advance(30 * 86400)
    with pytest.raises(ApiKeyError):
        magauth.api_keys.verify(key)


def test_expires_accepts_spans_and_dates() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert parse_expires("12h", now) == now + dt.timedelta(hours=12)
    assert parse_expires("2031-06-01", now) == dt.datetime(2031, 6, 1, tzinfo=dt.UTC)
    assert parse_expires(None, now) is None
    for bad in ("soon", "2020-01-01"):
        with pytest.raises(ApiKeyError):
            parse_expires(bad, now)


def test_last_used_is_written_at_most_once_a_minute(magauth: MagAuth, clock: FakeClock) -> None:
    key, _ = magauth.api_keys.create("busy", "anon")

    def last_used() -> str | None:
        return magauth.store.find("api_keys", name="busy")["last_used_at"]

    magauth.api_keys.verify(key)
    first = last_used()
    assert first is not None
    clock.advance(30)
    magauth.api_keys.verify(key)
    assert last_used() == first
    clock.advance(31)
    magauth.api_keys.verify(key)
    assert last_used() != first


def test_authenticate_accepts_every_kind_of_credential(magauth: MagAuth, board: Config) -> None:
    anon, service = board.secrets.anon_key, board.secrets.service_role_key
    assert magauth.authenticate({"apikey": anon}).role == "anon"
    assert magauth.authenticate({"Authorization": f"Bearer {service}"}).role == "service_role"
    session = magauth.service.signup(
        {"email": "u@example.com", "password": "pass-word-1"}, RequestInfo()
    )
    user = magauth.authenticate(
        {"apikey": anon, "authorization": f"bearer {session['access_token']}"}
    )
    assert user.role == "authenticated" and user.user_id == session["user"]["id"]
    assert user.key_id is None and user.project == board.board.id
    key, record = magauth.api_keys.create("robot", "service_role")
    principal = magauth.authenticate({"apikey": key})
    assert principal.role == "service_role" and principal.key_id == record.id
    assert principal.claims["ref"] == board.board.id and "sub" not in principal.claims


def test_authenticate_refuses(magauth: MagAuth, board: Config) -> None:
    with pytest.raises(NoCredentials):
        magauth.authenticate({})
    with pytest.raises(NoCredentials):  # the query string is never read: only headers count
        magauth.authenticate({"x-query": f"apikey={board.secrets.service_role_key}"})
    with pytest.raises(TokenError):
        magauth.authenticate({"apikey": "not-a-jwt"})
    with pytest.raises(KeyRefused):
        magauth.authenticate({"apikey": "mfk_0123456789ab_" + "x" * 43})
    # an invalid apikey is refused even when the bearer is valid
    with pytest.raises(TokenError):
        magauth.authenticate(
            {"apikey": "garbage", "Authorization": f"Bearer {board.secrets.anon_key}"}
        )
