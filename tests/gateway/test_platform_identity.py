"""The caller, found once per request; the board's project keys verified once per process."""

from __future__ import annotations

import time
from collections.abc import Mapping

import falcon
import pytest
from falcon import testing

from components.auth.tokens import TokenError
from components.gateway.platform import identity
from components.gateway.platform.identity import Identifier, authenticated, key_identity
from mobo.kernel.config import Secrets
from mobo.principal import Principal, Unauthenticated


class CountingAuth:
    """A fake MagAuth: `user-*` tokens are users, the project keys are roles."""

    def __init__(self) -> None:
        self.calls = 0

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        self.calls += 1
        lowered = {k.lower(): v for k, v in headers.items()}
        token = (lowered.get("authorization") or "")[7:] or lowered.get("apikey", "")
        if token == "ANON":
            return Principal("anon", {"role": "anon", "exp": time.time() + 3600})
        if token.startswith("user-"):
            return Principal("authenticated", {"sub": token[5:]})
        raise TokenError("bad token")


SECRETS = Secrets(anon_key="ANON", service_role_key="SERVICE")


def request(**headers: str) -> falcon.Request:
    return testing.create_req(headers=headers)


def test_project_keys_are_verified_once_per_process() -> None:
    auth = CountingAuth()
    identify = Identifier(lambda: auth, SECRETS)
    for _ in range(5):
        found = identify(request(apikey="ANON", Authorization="Bearer ANON"))
        assert found is not None and found.role == "anon"
    assert auth.calls == 1


def test_other_tokens_are_verified_once_per_request() -> None:
    auth = CountingAuth()
    identify = Identifier(lambda: auth, SECRETS)
    req = request(apikey="ANON", Authorization="Bearer user-42")
    assert identify(req) is identify(req)
    assert identify(req).user_id == "42"  # type: ignore[union-attr]
    assert auth.calls == 1
    identify(request(apikey="ANON", Authorization="Bearer user-42"))
    assert auth.calls == 2


def test_a_refusal_is_remembered_and_raised_by_authenticated() -> None:
    auth = CountingAuth()
    identify = Identifier(lambda: auth, SECRETS)
    req = request(apikey="forged")
    assert identify(req) is None
    try:
        authenticated(req, auth)
    except TokenError as exc:
        assert str(exc) == "bad token"
    else:
        raise AssertionError("expected a TokenError")
    assert auth.calls == 1


def test_no_credentials_means_no_principal_and_no_call() -> None:
    auth = CountingAuth()
    assert Identifier(lambda: auth, SECRETS)(request()) is None
    assert auth.calls == 0


def test_bucket_names() -> None:
    assert key_identity(Principal("service", {}, "k1")) == "key:k1"
    assert key_identity(Principal("authenticated", {"sub": "u1"})) == "user:u1"
    assert key_identity(Principal("anon", {"role": "anon"})) == "role:anon"


def test_identify_for_mounted_routes_refuses_with_the_kernels_error() -> None:
    auth = CountingAuth()
    assert identity.identify(request(Authorization="Bearer user-7"), auth).user_id == "7"
    with pytest.raises(Unauthenticated) as caught:
        identity.identify(request(Authorization="Bearer forged"), auth)
    assert caught.value.code == "PGRST301" and caught.value.message == "bad token"
