"""Who is calling: `authenticate(headers) -> Principal`, for the gateway's every request.

Credentials come only from headers, never the query string: `apikey` (what supabase-js
sends on every call) and `Authorization: Bearer`. Each is either a JWT (the anon and
service_role project keys, or a user's access token) or a native API key (`mfk_…`).
When both are sent, both must be valid, and the bearer decides the role (supabase-js
sends the anon key as `apikey` and the user's token as the bearer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mobo.principal import Principal, presented

from .apikeys import PREFIX, ApiKeyError, ApiKeys
from .tokens import Claims, TokenError, TokenMalformed, Tokens


class NoCredentials(TokenError):
    """The request carries neither an `apikey` nor a bearer token."""

    code = "PGRST302"
    error_code = "no_authorization"


class KeyRefused(TokenError):
    """A native API key is unknown, revoked or expired."""

    error_code = "bad_api_key"


class Authenticator:
    """Turn a request's credentials into a Principal, or raise a TokenError (401)."""

    def __init__(
        self, tokens: Tokens, api_keys: Callable[[], ApiKeys] | None, project: str
    ) -> None:
        self.tokens = tokens
        self.api_keys = api_keys  # called only when a native key is presented
        self.project = project

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        apikey, bearer = presented(headers)
        if apikey is None and bearer is None:
            raise NoCredentials("No API key found in request")
        if apikey is not None and bearer is not None and apikey != bearer:
            self.credential(apikey)  # must be valid too, though the bearer decides
        return self.credential(bearer or apikey or "")

    def credential(self, value: str) -> Principal:
        """Verify one credential: a native key or a JWT."""
        if value.startswith(PREFIX):
            return self._api_key(value)
        claims = self.tokens.verify(value)
        self._check_project(claims)
        return Principal(claims.role, dict(claims.data), None, claims.project or self.project)

    def _api_key(self, value: str) -> Principal:
        if self.api_keys is None:
            raise TokenMalformed("native API keys are not available on this gateway")
        try:
            key = self.api_keys().verify(value)
        except ApiKeyError as exc:
            raise KeyRefused(str(exc)) from None
        claims = {"role": key.role, "ref": key.project, "key_id": key.id, "key_name": key.name}
        return Principal(key.role, claims, key.id, key.project)

    def _check_project(self, claims: Claims) -> None:
        if claims.project is not None and claims.project != self.project:
            raise KeyRefused("the token belongs to another project")
