"""Run a request's SQL as its caller on PostgreSQL: the role and the JWT claims.

As PostgREST's "pre-request": the first statement of every transaction sets, locally to
that transaction, the caller's role and what SQL may know of the request, so GRANTs and
row-level security policies (`auth.uid()`, `current_setting('request.jwt.claims')`)
decide what it sees and nothing outlives the transaction on a pooled connection:

    SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
           set_config('request.method', $3, true), set_config('request.path', $4, true),
           set_config('request.headers', $5, true)

`setup_for(principal, caller)` is that statement with its values, ready for
`Adapter.transaction(setup=...)` or `Adapter.execute_in(query, setup=...)`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from components.datastore.adapters.base import Setup
from mobo.principal import Principal

SETUP = (
    "SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true), "
    "set_config('request.method', %s, true), set_config('request.path', %s, true), "
    "set_config('request.headers', %s, true)"
)
# with `Prefer: timezone=...`: the session's TimeZone too, so timestamptz values are
# written in that zone (psycopg reads them with the offset PostgreSQL sends)
SETUP_TZ = SETUP + ", set_config('timezone', %s, true)"


@dataclass(frozen=True, slots=True)
class Caller:
    """What SQL may know about the request: the method, the path and the headers."""

    method: str
    path: str
    headers: Mapping[str, str]
    timezone: str | None = None  # `Prefer: timezone=`, already checked against known zones


def setup_for(principal: Principal, caller: Caller) -> Setup:
    """Return the statement and values that make a transaction run as `principal`."""
    params = setup_params(principal, caller)
    if caller.timezone is None:
        return (SETUP, params)
    return (SETUP_TZ, (*params, caller.timezone))


def setup_params(principal: Principal, caller: Caller) -> tuple[str, ...]:
    """Return the role, claims, method, path and headers to set for the transaction."""
    headers = {k.lower(): v for k, v in caller.headers.items()}
    return (
        principal.role,
        claims_json(principal),
        caller.method,
        caller.path,
        _compact(headers),
    )


_compact = json.JSONEncoder(separators=(",", ":")).encode
_compact_any = json.JSONEncoder(separators=(",", ":"), default=str).encode
# the claims' JSON of the principals seen last, by identity: the gateway's identifier
# hands out the same Principal for the same key or token while it is cached
_CLAIMS: dict[int, tuple[Principal, str]] = {}
_CLAIMS_KEPT = 1024


def claims_json(principal: Principal) -> str:
    """Return `request.jwt.claims` for `principal`: its claims with its role."""
    found = _CLAIMS.get(id(principal))
    if found is not None and found[0] is principal:
        return found[1]
    text = _compact_any({"role": principal.role, **principal.claims})
    if len(_CLAIMS) >= _CLAIMS_KEPT:
        _CLAIMS.clear()
    _CLAIMS[id(principal)] = (principal, text)
    return text
