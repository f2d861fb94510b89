"""Which subscribers may see a changed row: the per-row filter, per engine.

- service_role sees every row (as BYPASSRLS).
- SQLite and MariaDB: the table's mobo.toml permissions (MagDS's access policy,
  `components.datastore.access`) are applied as the REST API applies them: no `select`
  grant, no rows; with an ownership rule (`owner = "user_id"`) a subscriber gets only
  rows whose owner column (in the new row, or the old row of a delete) equals its `sub`.
- PostgreSQL: an insert or update is delivered to an identity only if
  `SELECT ... WHERE <pk> = ...` finds the row when run as that identity's role with its
  JWT claims (MagDS's pre-request, as for the REST API), so RLS policies decide. A
  delete cannot be checked (the row is gone): it goes to every subscriber of the channel
  (authorized for SELECT on the table) carrying the primary key only (`old` = the key,
  `new` = null).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from components.datastore import And, Cond, Select
from components.datastore.access import Caller, Permissions, setup_for
from mobo.exceptions import DatastoreError
from mobo.principal import Principal

from .hub import Identity

LOGGER = logging.getLogger(__name__)
CALLER = Caller("GET", "/realtime/v1", {})
Change = dict[str, Any]


class RowFilter:
    """Decide, for one identity, what of a change it receives (None: nothing)."""

    def __init__(self, stores: Any, permissions: Mapping[str, Permissions | None]) -> None:
        self.stores = stores
        self.permissions = dict(permissions)

    def visible(self, identity: Identity, change: Change) -> Change | None:
        if identity.role == "service_role":
            return change
        if self.stores.settings(change["store"]).engine == "postgres":
            return self._postgres(self.stores[change["store"]], identity, change)
        return self._declared(identity, change)

    def queries(self, identity: Identity, store: str) -> bool:
        """Say whether `visible` runs a query for this identity (else it is pure CPU, cheap
        enough to call on the event loop)."""
        if identity.role == "service_role":
            return False
        return self.stores.settings(store).engine == "postgres"

    def restricted(self, store: str, table: str) -> bool:
        """Say whether rows of `table` differ per subscriber (ownership rule or RLS)."""
        adapter = self.stores[store]
        if adapter.engine == "postgres":
            found = adapter.raw(
                "SELECT c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = "
                "c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
                (adapter.introspect().namespace or "public", table),
            )
            return bool(found.rows and next(iter(found.rows[0].values())))
        rules = self.permissions.get(store)
        return rules is None or rules.rule(table).owner is not None

    def _declared(self, identity: Identity, change: Change) -> Change | None:
        rules = self.permissions.get(change["store"])
        if rules is None:
            return None
        rule = rules.rule(change["table"])
        if not rule.allows(identity.role, "select"):
            return None
        if not rule.owned(identity.role, "select"):
            return change
        row = change.get("new") or change.get("old") or {}
        owner = row.get(rule.owner) if isinstance(row, dict) else None
        if owner is None or identity.sub is None or str(owner) != identity.sub:
            return None
        return change

    def _postgres(self, adapter: Any, identity: Identity, change: Change) -> Change | None:
        pk = change.get("pk")
        if not pk:
            return None
        if change.get("op") == "delete":
            return {**change, "old": pk, "new": None}
        principal = Principal(identity.role, identity.claims)
        setup = setup_for(principal, CALLER)
        where = And(tuple(Cond(k, "eq", v) for k, v in pk.items()))
        query = Select(change["table"], where=where, limit=1)
        try:
            found = adapter.execute_in(query, setup=setup, read_only=True)
        except DatastoreError as exc:
            if getattr(exc, "code", None) == "42501" or "permission denied" in str(exc):
                return None
            raise
        return change if found.rows else None


def fetch_row(stores: Any, change: Change) -> dict[str, Any] | None:
    """Read the current row of a change sent by reference (too large to carry)."""
    pk = change.get("pk")
    if not pk:
        return None
    where = And(tuple(Cond(k, "eq", v) for k, v in pk.items()))
    found = stores[change["store"]].execute(Select(change["table"], where=where, limit=1))
    return found.rows[0] if found.rows else None
