"""One request's unit of work on one store, run as the caller.

On PostgreSQL every request is ONE transaction, as PostgREST's: its first statement is
MagDS's pre-request (`components.datastore.access.prerequest`), which sets the role and
the JWT claims transaction-locally, so RLS policies (`auth.uid()`) see the caller and
nothing outlives the transaction on the pooled connection:

    BEGIN [READ ONLY]                                              -- READ ONLY: GET, HEAD
    SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true), ...
    <the request's queries>
    COMMIT                                                         -- or ROLLBACK on error

BEGIN and the setup go in one round trip with the first query (psycopg's pipeline
mode, `Adapter.transaction(setup=...)`); a request of one query that nothing is checked
after (`Session.execute(query, last=True)`, `Adapter.execute_in`) sends the COMMIT in
that same round trip too: one round trip per request. A failed setup raises SetupFailed,
told apart from the query's own errors; a 42501 there is the store's user missing the
role (500 below).

On SQLite and MariaDB (no roles, no RLS) a write runs in one transaction and a read runs
without one (SQLite's write lock would serialize readers); MagDS's Guard applies
mobo.toml's permissions to every query instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from components.datastore import Adapter, Query, Result, Transaction
from components.datastore.access import Caller, Guard, setup_for
from components.datastore.adapters.base import Setup
from components.datastore.errors import SetupFailed
from components.gateway.errors import ApiError
from components.gateway.rest import errors
from mobo.exceptions import DatastoreError


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
                setup = setup_for(guard.principal, caller)
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
