"""Whether a role may read a table at all, before any row is read (a subscription).

Realtime asks it before a caller joins a table's channel, as the REST API would decide a
`GET`: on PostgreSQL the database's privileges (`has_table_privilege`); elsewhere the
`select` grant of mobo.toml's permissions. Which rows it then sees is decided per row
(RLS, the ownership rule), not here. The service role reads everything.
"""

from __future__ import annotations

from typing import Any

from components.datastore.access.permissions import SERVICE_ROLE, Permissions
from mobo.exceptions import DatastoreError


def may_read(adapter: Any, permissions: Permissions | None, role: str, table: str) -> bool:
    """Say whether `role` may select from `table` of the store `adapter` opens."""
    if role == SERVICE_ROLE:
        return True
    if adapter.engine == "postgres":
        namespace = adapter.introspect().namespace or "public"
        return _pg_may_select(adapter, namespace, role, table)
    return permissions is not None and permissions.rule(table).allows(role, "select")


def _pg_may_select(adapter: Any, namespace: str, role: str, table: str) -> bool:
    qualified = ".".join('"' + part.replace('"', '""') + '"' for part in (namespace, table))
    try:
        found = adapter.raw("SELECT has_table_privilege(%s, %s, 'SELECT') AS ok", (role, qualified))
    except DatastoreError:  # the role does not exist in this database
        return False
    return bool(found.rows and found.rows[0].get("ok"))
