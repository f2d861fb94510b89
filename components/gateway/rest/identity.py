"""Who is calling `/rest/v1`: a Principal (MagAuth verifies), or a 401 with PostgREST's body.

With the auth card unplugged there is no MagAuth to verify tokens: the gateway then
accepts only the board's own project keys (`anon`, `service_role` from `mobo init`),
compared in constant time, so the data API never opens up for lack of a verifier.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from components.gateway.rest import errors
from mobo.kernel.config import Config
from mobo.principal import Principal, Unauthenticated, presented

if TYPE_CHECKING:
    from components.auth.runtime import MagAuth

Authenticate = Callable[[Mapping[str, str]], Principal]


def authenticator(config: Config, auth: Callable[[], MagAuth | None]) -> Authenticate:
    """Return the function that turns request headers into a Principal (401 if it cannot)."""

    def authenticate(headers: Mapping[str, str]) -> Principal:
        magauth = auth()
        try:
            if magauth is not None:
                return magauth.authenticate(headers)
            return project_key(config, headers)
        except Unauthenticated as exc:
            raise errors.api_error(
                401, exc.code, str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from None

    return authenticate


def project_key(config: Config, headers: Mapping[str, str]) -> Principal:
    """Accept the board's anon or service_role key as is (MagAuth unplugged)."""
    apikey, bearer = presented(headers)
    key = bearer or apikey
    if key is None:
        raise Unauthenticated("No API key found in request", code="PGRST302")
    secrets = config.secrets
    for role, expected in (("service_role", secrets.service_role_key), ("anon", secrets.anon_key)):
        if expected and hmac.compare_digest(key.encode(), expected.encode()):
            return Principal(role, {"role": role})
    raise Unauthenticated(
        "invalid JWT: the auth card is unplugged; use the board's anon or service_role key"
    )
