"""MagDS's access policy: who may read and write what, asked by every card that serves data.

The REST API, realtime and any later card (MQTT devices writing rows, the admin UI
browsing tables) ask this package, so a caller is refused the same way whatever door it
came through. Modules:

    permissions  `[datastores.<store>.permissions]`: grants per role, the ownership rule
    guard        one caller under one store's permissions (SQLite, MariaDB), per query
    prerequest   the caller's role and JWT claims for a PostgreSQL transaction (RLS)
    tables       which tables are the board's own and never served
    reading      whether a role may read a table at all (subscriptions)
    errors       the refusals (AccessDenied …); the gateway maps them to HTTP once

PostgreSQL stores are guarded by the database (GRANTs and row-level security under the
request's role); the others by mobo.toml's declared permissions. See docs/datastores.md.
"""

from __future__ import annotations

from components.datastore.access.errors import (
    AccessDenied,
    PermissionDenied,
    RowPolicyViolation,
)
from components.datastore.access.guard import Guard, combine
from components.datastore.access.permissions import (
    Permissions,
    TableRule,
    load_permissions,
    parse_permissions,
)
from components.datastore.access.prerequest import Caller, setup_for
from components.datastore.access.reading import may_read
from components.datastore.access.tables import board_table, visibility

__all__ = [
    "AccessDenied",
    "Caller",
    "Guard",
    "PermissionDenied",
    "Permissions",
    "RowPolicyViolation",
    "TableRule",
    "board_table",
    "combine",
    "load_permissions",
    "may_read",
    "parse_permissions",
    "setup_for",
    "visibility",
]
