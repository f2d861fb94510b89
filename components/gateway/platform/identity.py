"""Who sent the request, worked out at most once per request.

The rate limiter needs the caller's key, the `api.request` event its role, and the REST
resources its claims. `Identifier` asks MagAuth once per request and remembers the
answer on `req.context.principal` (None: no credentials, or refused) and a refusal on
`req.context.auth_error`; `authenticated(req, auth)` returns it or raises that refusal,
so a resource need not verify the token a second time. `identify(req, auth)` does the
same for the routes other cards mount (`services.identify`), with the refusal as the
kernel's `Unauthenticated`, so they need not know MagAuth's errors.

The board's own two project keys (`anon`, `service_role`, in the secrets file) are
verified once per process and then recognised by value until they expire: they are what
most requests carry, and a JWT verification costs about 100 µs.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

import falcon

from mobo.kernel.config import Secrets
from mobo.principal import Unauthenticated

if TYPE_CHECKING:
    from mobo.principal import Principal

LOGGER = logging.getLogger(__name__)

_UNSET = object()


class Authenticator(Protocol):
    """MagAuth, or `ProjectKeys` standing in for it."""

    def authenticate(self, headers: Mapping[str, str]) -> Principal: ...


class ProjectKeys:
    """Stands in for MagAuth when the auth card is unplugged: the board's own two keys."""

    def __init__(self, secrets: Secrets) -> None:
        self._keys = (("service_role", secrets.service_role_key), ("anon", secrets.anon_key))

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        from mobo.principal import Principal, presented

        apikey, bearer = presented(headers)
        key = bearer or apikey
        if key is None:
            raise Unauthenticated("No API key found in request", code="PGRST302")
        for role, expected in self._keys:
            if expected and hmac.compare_digest(key.encode(), expected.encode()):
                return Principal(role, {"role": role})
        raise Unauthenticated(
            "the auth card is unplugged: use the board's anon or service_role key"
        )


def credential(req: falcon.Request) -> tuple[str | None, str | None]:
    """Return (apikey, bearer) as sent, never from the query string."""
    auth = req.get_header("Authorization") or ""
    bearer = auth[7:].strip() or None if auth[:7].lower() == "bearer " else None
    return (req.get_header("apikey") or "").strip() or None, bearer


class Identifier:
    """`identify(req) -> Principal | None`, memoised on the request."""

    def __init__(self, auth: Callable[[], Authenticator], secrets: Secrets) -> None:
        self._auth = auth
        self._project = frozenset(k for k in (secrets.anon_key, secrets.service_role_key) if k)
        self._known: dict[str, tuple[Principal, float]] = {}  # project key -> (principal, exp)
        self._lock = threading.Lock()

    def __call__(self, req: falcon.Request) -> Principal | None:
        found = req.context.get("principal", _UNSET)
        if found is not _UNSET:
            return found  # type: ignore[return-value]
        apikey, bearer = credential(req)
        result = None
        if apikey or bearer:
            result = self._project_key(apikey, bearer) or self._verify(req)
        req.context.principal = result
        return result

    def _project_key(self, apikey: str | None, bearer: str | None) -> Principal | None:
        if apikey and bearer and apikey != bearer:
            return None  # both must be checked: MagAuth does
        key = bearer or apikey or ""
        entry = self._known.get(key)
        if entry is not None and entry[1] > time.time():
            return entry[0]
        if key not in self._project:
            return None
        principal = self._authenticate({"apikey": key})
        if principal is not None:
            exp = principal.claims.get("exp")
            with self._lock:
                self._known[key] = (principal, float(exp) if exp else time.time() + 60)
        return principal

    def _verify(self, req: falcon.Request) -> Principal | None:
        try:
            return self._auth().authenticate(req.headers)
        except Exception as exc:  # Unauthenticated, or the key store being down
            req.context.auth_error = exc
            LOGGER.debug("credentials refused on %s %s: %s", req.method, req.path, exc)
            return None

    def _authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        try:
            return self._auth().authenticate(headers)
        except Exception:
            return None


def principal(req: falcon.Request, auth: Authenticator) -> Principal | None:
    """Return the request's Principal as the platform found it (or find it now)."""
    found = req.context.get("principal", _UNSET)
    if found is not _UNSET:
        return found  # type: ignore[return-value]
    return Identifier(lambda: auth, Secrets())(req)


def authenticated(req: falcon.Request, auth: Authenticator) -> Principal:
    """Return the request's Principal, or raise what refused it (Unauthenticated: MagAuth's
    TokenError, or the stand-in's)."""
    found = principal(req, auth)
    if found is not None:
        return found
    error = req.context.get("auth_error")
    if error is not None:
        raise error
    return auth.authenticate(req.headers)  # no credentials: MagAuth says so (PGRST302)


def identify(req: falcon.Request, auth: Authenticator) -> Principal:
    """Return the request's Principal; raise Unauthenticated if it has none or a bad one."""
    try:
        return authenticated(req, auth)
    except Unauthenticated as exc:  # MagAuth's TokenError included
        raise Unauthenticated(str(exc), code=exc.code) from None


def key_identity(found: Principal) -> str:
    """Name the rate-limit bucket of a caller: its API key, its user, or its role's key."""
    if found.key_id:
        return f"key:{found.key_id}"
    if found.user_id and found.role != "anon":
        return f"user:{found.user_id}"
    return f"role:{found.role}"
