"""One request's unit of work on one store, run as the caller.

On PostgreSQL every request is ONE transaction, as PostgREST's: its first statement sets
the role and the JWT claims transaction-locally, so RLS policies (`auth.uid()`) see the
caller and nothing outlives the transaction on the pooled connection:

    BEGIN
    SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
           set_config('request.method', $3, true), set_config('request.path', $4, true),
           set_config('request.headers', $5, true)
           [, set_config('transaction_read_only', 'on', true)]     -- GET and HEAD
    <the request's queries>
    COMMIT                                                         -- or ROLLBACK on error

On SQLite and MariaDB (no roles, no RLS) a write runs in one transaction and a read runs
without one (SQLite's write lock would serialize readers); the Guard applies mobo.toml's
permissions to every query instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from components.datastore import Adapter, Query, Result, Transaction
from components.gateway.errors import ApiError
from components.gateway.rest import errors
from components.gateway.rest.guard import Guard
from mobo.exceptions import DatastoreError

SETUP = (
    "SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true), "
    "set_config('request.method', %s, true), set_config('request.path', %s, true), "
    "set_config('request.headers', %s, true)"
)
SETUP_READ_ONLY = SETUP + ", set_config('transaction_read_only', 'on', true)"


@dataclass(frozen=True, slots=True)
class Caller:
    """What SQL may know about the request: the method, the path and the headers."""

    method: str
    path: str
    headers: Mapping[str, str]


class Session:
    """Run queries in the request's transaction (or none), under its Guard."""

    __slots__ = ("adapter", "guard", "tx")

    def __init__(self, adapter: Adapter, tx: Transaction | None, guard: Guard) -> None:
        self.adapter = adapter
        self.tx = tx
        self.guard = guard

    @property
    def engine(self) -> str:
        return self.adapter.engine

    def execute(self, query: Query) -> Result:
        return self.adapter.execute(query, tx=self.tx)

    def raw(self, sql: str, params: tuple[object, ...] = ()) -> Result:
        return self.adapter.raw(sql, params, tx=self.tx)


@contextmanager
def open_session(
    adapter: Adapter, guard: Guard, caller: Caller, *, read_only: bool
) -> Iterator[Session]:
    """Yield a Session; on PostgreSQL, in a transaction that runs as the caller's role."""
    if adapter.engine == "postgres":
        with adapter.transaction() as tx:
            try:
                adapter.raw(
                    SETUP_READ_ONLY if read_only else SETUP, setup_params(guard, caller), tx=tx
                )
            except DatastoreError as exc:
                if exc.code == "42501":  # the store's user may not switch to the role
                    raise role_unavailable(adapter, guard.principal.role, exc) from None
                raise
            yield Session(adapter, tx, guard)
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
    claims = {"role": principal.role, **principal.claims}
    headers = {k.lower(): v for k, v in caller.headers.items()}
    return (
        principal.role,
        json.dumps(claims, separators=(",", ":"), default=str),
        caller.method,
        caller.path,
        json.dumps(headers, separators=(",", ":")),
    )
