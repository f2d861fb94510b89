"""`RestApi`: one worker's `/rest/v1`, from a `Call` to a `Reply`, without HTTP.

Order of work, as PostgREST's: authenticate (401), parse the request (4xx from the
parser), pick the store by profile (PGRST106), find the table (PGRST205), then read,
write or call in one session, under MagDS's access policy (the Guard; the hidden tables).
Whatever a store or the policy refuses is translated once, here, into PostgREST's status
and body (errors.from_datastore).
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from components.datastore import DEFAULT_STORE, Adapter
from components.datastore.access import Caller, Guard, Permissions, visibility
from components.datastore.schema import Schema, Table
from components.gateway.errors import ApiError
from components.gateway.postgrest.request import Action, Kind
from components.gateway.rest import errors, reads, rpc, writes
from components.gateway.rest.call import Call, Reply, Target
from components.gateway.rest.identity import Authenticate
from components.gateway.rest.parsed import parsed
from components.gateway.rest.session import open_session
from mobo.exceptions import DatastoreError

# supabase-js sends `Accept-Profile: public` (its default schema) on every call: that
# profile is the default store, unless a store is really named so
PUBLIC_PROFILE = "public"
SCHEMA_RETRY_S = 1.0  # an unknown table reloads a store's schema at most this often
ALLOW = "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"
ALLOW_RPC = "OPTIONS,GET,HEAD,POST"


class Stores(Protocol):
    """What the API needs of `components.datastore.Datastores`."""

    def __getitem__(self, name: str) -> Adapter: ...

    @property
    def names(self) -> list[str]: ...


class RestApi:
    """Serve `/rest/v1/{table}` and `/rest/v1/rpc/{fn}` over the board's stores."""

    def __init__(
        self,
        stores: Stores,
        authenticate: Authenticate,
        permissions: Mapping[str, Permissions | None],
        *,
        aggregates: bool = False,
    ) -> None:
        self.stores = stores
        self.authenticate = authenticate
        self.permissions = dict(permissions)
        self.aggregates = aggregates  # `[gateway] aggregates`: count()/sum()/... in select=
        self._refreshed: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def profiles(self) -> list[str]:
        """Return the names a profile header may give: the stores, and `public`."""
        names = self.stores.names
        return names if PUBLIC_PROFILE in names else [*names, PUBLIC_PROFILE]

    def store_of(self, profile: str | None) -> str:
        """Return the store a profile names (none, or `public`: the default store)."""
        if profile is None or (profile == PUBLIC_PROFILE and profile not in self.stores.names):
            return DEFAULT_STORE
        return profile

    def serve(self, call: Call) -> Reply:
        """Answer one call; raise ApiError for anything but a success."""
        if call.method == "OPTIONS":
            allow = ALLOW_RPC if call.target[:1] == ["rpc"] else ALLOW
            return Reply(200, {"Allow": allow})
        principal = call.principal or self.authenticate(call.headers)
        request = parsed(
            call.method, call.target, call.params, call.headers, self.profiles, self.aggregates
        )
        store = self.store_of(request.profile)
        guard = Guard(self.permissions.get(store), principal)
        caller = Caller(call.method, call.path, call.headers, request.prefer.timezone)
        try:
            adapter = self.stores[store]
            if request.kind is Kind.RPC:
                read_only = request.method != "POST"
                with open_session(adapter, guard, caller, read_only=read_only) as session:
                    reply = rpc.call(session, request, call.body)
            else:
                target = self._target(adapter, request.name or "", guard, caller)
                if request.action is Action.READ:
                    reply = reads.read(target, request)
                else:
                    reply = writes.write(target, request, call.body)
        except DatastoreError as exc:
            raise errors.from_datastore(
                exc, anonymous=guard.anonymous, table=request.name
            ) from None
        reply.principal = principal
        return reply

    # -- tables -------------------------------------------------------------------------

    def _target(self, adapter: Adapter, name: str, guard: Guard, caller: Caller) -> Target:
        visible = visibility(adapter.engine)

        def lookup(table: str) -> Table:
            return self.table(adapter, table, visible)

        return Target(adapter, adapter.introspect(), lookup(name), guard, caller, lookup, visible)

    def table(self, adapter: Adapter, name: str, visible: Callable[[str], bool]) -> Table:
        """Return a visible table, reloading a stale schema once; else 404 PGRST205."""
        schema = adapter.introspect()
        if visible(name) and name not in schema.tables and self._may_refresh(adapter.name):
            schema = adapter.refresh_schema()
        table = schema.tables.get(name) if visible(name) else None
        if table is None:
            raise table_not_found(schema, adapter.name, name, visible)
        return table

    def _may_refresh(self, store: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._refreshed.get(store, float("-inf")) < SCHEMA_RETRY_S:
                return False
            self._refreshed[store] = now
            return True


def table_not_found(
    schema: Schema, store: str, name: str, visible: Callable[[str], bool]
) -> ApiError:
    where = schema.namespace or store
    shown = [t for t in schema.tables if visible(t)]
    close = difflib.get_close_matches(name, shown, n=1)
    return errors.api_error(
        404,
        "PGRST205",
        f"Could not find the table '{where}.{name}' in the schema cache",
        hint=f"Perhaps you meant the table '{where}.{close[0]}'" if close else None,
    )
