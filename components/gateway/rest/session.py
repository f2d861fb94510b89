"""One request's unit of work on one store, run as the caller.

On PostgreSQL every request is ONE transaction, as PostgREST's: its first statement sets
the role and the JWT claims transaction-locally, so RLS policies (`auth.uid()`) see the
caller and nothing outlives the transaction on the pooled connection:

    BEGIN [READ ONLY]                                              -- READ ONLY: GET, HEAD
    SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
           set_config('request.method', $3, true), set_config('request.path', $4, true),
           set_config('request.headers', $5, true)
    <the request's queries>
    COMMIT                                                         -- or ROLLBACK on error

BEGIN and the setup go in one round trip with the first query (psycopg's pipeline
mode, `Adapter.transaction(setup=...)`); a request of one query that nothing is checked
after (`Session.execute(query, last=True)`, `Adapter.execute_in`) sends the COMMIT in
that same round trip too: one round trip per request. A failed setup raises SetupFailed,
told apart from the query's own errors; a 42501 there is the store's user missing the
role (500 below).

On SQLite and MariaDB (no roles, no RLS) a write runs in one transaction and a read runs
without one (SQLite's write lock would serialize readers); the Guard applies mobo.toml's
permissions to every query instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.datastore import Adapter, Query, Result, Transaction
from components.datastore.adapters.base import Setup
from components.datastore.errors import SetupFailed
from components.gateway.errors import ApiError
from components.gateway.rest import errors
from components.gateway.rest.guard import Guard
from mobo.exceptions import DatastoreError

if TYPE_CHECKING:
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


class Session:
    """Run queries in the request's transaction (or none), under its Guard.

    On PostgreSQL the transaction opens with the first statement (BEGIN, the setup and
    that statement go in one round trip); `execute(query, last=True)` says no statement
    follows and nothing is checked before the commit, so COMMIT goes with it too."""

    __slots__ = ("_stack", "adapter", "guard", "read_only", "setup", "tx")

    def __init__(
        self,
        adapter: Adapter,
        tx: Transaction | None,
        guard: Guard,
        *,
        setup: Setup | None = None,
        read_only: bool = False,
        stack: ExitStack | None = None,
    ) -> None:
        self.adapter = adapter
        self.tx = tx
        self.guard = guard
        self.setup = setup
        self.read_only = read_only
        self._stack = stack

    @property
    def engine(self) -> str:
        return self.adapter.engine

    def execute(self, query: Query, *, last: bool = False) -> Result:
        if self.setup is not None:
            if last:
                setup, self.setup = self.setup, None
                return self.adapter.execute_in(query, setup=setup, read_only=self.read_only)
            self._begin()
        return self.adapter.execute(query, tx=self.tx)

    def raw(self, sql: str, params: tuple[object, ...] = ()) -> Result:
        if self.setup is not None:
            self._begin()
        return self.adapter.raw(sql, params, tx=self.tx)

    def _begin(self) -> None:
        assert self._stack is not None
        setup, self.setup = self.setup, None
        self.tx = self._stack.enter_context(
            self.adapter.transaction(setup=setup, read_only=self.read_only)
        )


@contextmanager
def open_session(
    adapter: Adapter, guard: Guard, caller: Caller, *, read_only: bool
) -> Iterator[Session]:
    """Yield a Session; on PostgreSQL, in a transaction that runs as the caller's role."""
    if adapter.engine == "postgres":
        try:
            with ExitStack() as stack:
                params = setup_params(guard, caller)
                setup = (
                    (SETUP, params)
                    if caller.timezone is None
                    else (SETUP_TZ, (*params, caller.timezone))
                )
                yield Session(adapter, None, guard, setup=setup, read_only=read_only, stack=stack)
        except SetupFailed as exc:
            if exc.code == "42501":  # the store's user may not switch to the role
                raise role_unavailable(adapter, guard.principal.role, exc) from None
            raise exc.cause from None
    elif read_only:
        yield Session(adapter, None, guard)
    else:
        with adapter.transaction() as tx:
            yield Session(adapter, tx, guard)


def role_unavailable(adapter: Adapter, role: str, exc: DatastoreError) -> ApiError:
    """The store is set up wrong (not the request): its user is not a member of `role`."""
    return errors.api_error(
        500,
        "42501",
        f"the gateway cannot run requests as role {role} on store {adapter.name}: {exc}",
        hint=f"GRANT {role} TO the store's user (MagAuth's migration does it when it may); "
        "see docs/rest.md",
    )


def setup_params(guard: Guard, caller: Caller) -> tuple[str, ...]:
    """Return the role, claims, method, path and headers to set for the transaction."""
    principal = guard.principal
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
