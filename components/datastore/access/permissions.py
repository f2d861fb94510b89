"""Table permissions and an ownership rule for stores without row-level security.

SQLite and MariaDB have no RLS, so the Guard (guard.py) enforces what mobo.toml declares
for every caller that asks MagDS's policy (the REST API, realtime):

    [datastores.main.permissions.todos]
    anon = ["select"]
    authenticated = ["select", "insert", "update", "delete"]   # or ["all"]
    owner = "user_id"                        # rows of non-service roles: user_id = auth.uid()
    owner_ops = ["select", "update", "delete", "insert"]       # the default: all four

    [datastores.main.permissions."*"]        # every table without its own entry
    authenticated = ["select"]

- An operation not granted is 401 (anon) or 403 (any other role), code 42501.
- With `owner`, reads, updates and deletes by a non-service role only see rows whose owner
  column equals the caller's `sub` (anon, having none, sees none); inserts get the column
  set to it (a different value is refused), updates may not change it.
- `service_role` is never restricted (as BYPASSRLS). Nothing declared means nothing
  granted: only the service role reaches the data until permissions say otherwise.

PostgreSQL stores are guarded by the database itself (GRANTs and RLS policies under the
request's role), so declaring permissions on one is a ConfigError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mobo.exceptions import ConfigError
from mobo.kernel.config import Config

OPS = ("select", "insert", "update", "delete")
SERVICE_ROLE = "service_role"
DEFAULT_TABLE = "*"
ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RULE_KEYS = ("owner", "owner_ops")


@dataclass(frozen=True, slots=True)
class TableRule:
    """Who may do what to one table, and which column names a row's owner."""

    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)
    owner: str | None = None
    owner_ops: frozenset[str] = frozenset(OPS)

    def allows(self, role: str, op: str) -> bool:
        return role == SERVICE_ROLE or op in self.grants.get(role, ())

    def owned(self, role: str, op: str) -> bool:
        """Say whether the ownership rule applies to `op` by `role`."""
        return self.owner is not None and role != SERVICE_ROLE and op in self.owner_ops


DENY_ALL = TableRule()


@dataclass(frozen=True, slots=True)
class Permissions:
    """Every table's rule for one store; tables not listed follow `"*"` (else deny)."""

    tables: Mapping[str, TableRule] = field(default_factory=dict)

    def rule(self, table: str) -> TableRule:
        found = self.tables.get(table)
        return found if found is not None else self.tables.get(DEFAULT_TABLE, DENY_ALL)


def parse_permissions(store: str, engine: str, raw: object) -> Permissions | None:
    """Validate `[datastores.<store>.permissions]`; None on PostgreSQL (the database guards)."""
    where = f"datastores.{store}.permissions"
    if engine == "postgres":
        if raw:
            raise ConfigError(
                f"{where}: a PostgreSQL store is guarded by the database, not by mobo.toml",
                hint="use GRANT and row-level security policies (see docs/rest.md); remove "
                f"[{where}]",
            )
        return None
    if raw is None:
        return Permissions()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table of tables", hint=EXAMPLE_HINT)
    return Permissions({str(t): _rule(f"{where}.{t}", rule) for t, rule in raw.items()})


class Stores(Protocol):
    """What `load_permissions` needs of `components.datastore.Datastores`."""

    @property
    def names(self) -> list[str]: ...

    def __getitem__(self, name: str) -> Any: ...


def load_permissions(config: Config, stores: Stores) -> Mapping[str, Permissions | None]:
    """Validate every store's `permissions` table (None for PostgreSQL stores)."""
    tables = config.section("datastores")
    found = {}
    for name in stores.names:
        raw = (
            tables.get(name, {}).get("permissions")
            if isinstance(tables.get(name), Mapping)
            else None
        )
        found[name] = parse_permissions(name, _engine(stores, name), raw)
    return found


def _engine(stores: Stores, name: str) -> str:
    settings = getattr(stores, "settings", None)
    if callable(settings):
        return str(settings(name).engine)  # without opening the store
    return str(stores[name].engine)


EXAMPLE_HINT = (
    f'e.g. [datastores.main.permissions.todos] anon = ["select"], authenticated = '
    f'["all"], owner = "user_id"; operations: {", ".join(OPS)}, all'
)


def _rule(where: str, raw: object) -> TableRule:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table (role = [operations])", hint=EXAMPLE_HINT)
    grants: dict[str, frozenset[str]] = {}
    for key, value in raw.items():
        if key in RULE_KEYS:
            continue
        if key == SERVICE_ROLE:
            raise ConfigError(
                f"{where}.{key}: the service role is never restricted",
                hint="remove it; service_role can do everything, as with BYPASSRLS",
            )
        if not ROLE.match(str(key)):
            raise ConfigError(f"{where}.{key}: {key!r} is not a role name", hint=EXAMPLE_HINT)
        grants[str(key)] = _ops(f"{where}.{key}", value)
    owner = raw.get("owner")
    if owner is not None and (not isinstance(owner, str) or not owner):
        raise ConfigError(f"{where}.owner must be a column name", hint=EXAMPLE_HINT)
    owner_ops = _ops(f"{where}.owner_ops", raw.get("owner_ops", list(OPS)))
    if "owner_ops" in raw and owner is None:
        raise ConfigError(f"{where}.owner_ops needs {where}.owner", hint=EXAMPLE_HINT)
    return TableRule(grants, owner, owner_ops)


def _ops(where: str, value: object) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of operations", hint=EXAMPLE_HINT)
    ops = {v.strip().lower() for v in value}
    if "all" in ops:
        ops = (ops - {"all"}) | set(OPS)
    unknown = sorted(ops - set(OPS))
    if unknown:
        raise ConfigError(
            f"{where}: {', '.join(unknown)} is not an operation",
            hint=f"operations: {', '.join(OPS)}, or all",
        )
    return frozenset(ops)
